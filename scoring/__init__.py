"""Pure scoring: RICE/ICE, bug triage, strategy boosts, evidence suggestions, and the sprint planner.

Nothing here does I/O, reads a clock, or knows about Notion: inputs are plain models, outputs are values.
"""

"""The seed's nine example items ("Example Scoring", step 2) with the seed's known blockers (step 4), as data.

Used by the golden tests and handy for a demo backlog: RICE 5.0, 3.0, 2.7, 2.0, 2.4, 6.7, 0.5, 0.2, 5.3.
"""

from __future__ import annotations

from scoring.models import Candidate


def seed_example_candidates() -> list[Candidate]:
    """Latency and SOC 2 carry a Strategic Override; SOC 2 and Salesforce are blocked as the seed says."""
    return [
        Candidate(
            page_id="latency",
            name="Latency optimization (streaming engine)",
            type="Feature",
            reach="10",
            impact="3",
            confidence="100%",
            effort="L",
            okrs=("O2",),
            strategic_override=True,
            validation_customer="Acme Health",
            owners=("Priya",),
        ),
        Candidate(
            page_id="soc2",
            name="SOC 2 compliance implementation",
            type="Compliance",
            reach="10",
            impact="3",
            confidence="100%",
            effort="XL",
            okrs=("O3",),
            strategic_override=True,
            blocked_by="infra team logging changes",
        ),
        Candidate(
            page_id="salesforce",
            name="Salesforce native integration",
            type="Feature",
            reach="5",
            impact="2",
            confidence="80%",
            effort="M",
            blocked_by="Salesforce developer sandbox",
        ),
        Candidate(
            page_id="analytics",
            name="Custom analytics dashboard",
            type="Feature",
            reach="5",
            impact="2",
            confidence="80%",
            effort="4",
        ),
        Candidate(
            page_id="hipaa",
            name="HIPAA BAA documentation + controls",
            type="Compliance",
            reach="3",
            impact="3",
            confidence="80%",
            effort="M",
            okrs=("O3",),
        ),
        Candidate(
            page_id="webhooks",
            name="Webhook reliability improvements",
            type="Reliability",
            reach="10",
            impact="1",
            confidence="100%",
            effort="S",
        ),
        Candidate(
            page_id="multilang",
            name="Multi-language voice agent support",
            type="Feature",
            reach="3",
            impact="2",
            confidence="50%",
            effort="L",
        ),
        Candidate(
            page_id="wakeword",
            name="Custom wake word support",
            type="Feature",
            reach="1",
            impact="1",
            confidence="50%",
            effort="M",
        ),
        Candidate(
            page_id="escalation",
            name="Improved escalation handoff flow",
            type="Feature",
            reach="5",
            impact="2",
            confidence="80%",
            effort="S",
        ),
    ]

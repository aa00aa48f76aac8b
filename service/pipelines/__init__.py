"""One use case per module: read from Notion, call a pure function, write back, return a report object."""

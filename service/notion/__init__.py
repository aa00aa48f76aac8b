"""The Notion layer: the only importer of `notion_client`. `NotionGateway` is its one public facade."""

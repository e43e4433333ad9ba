"""hashdesk: a research desk for bitcoin-mining investors, analysts and miners' finance teams."""

__version__ = "0.1.0"

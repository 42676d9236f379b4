"""newsbot: watches feeds for compute deals, clusters reports into stories, posts digests."""

__version__ = "0.1.0"
USER_AGENT = f"newsbot/{__version__} (+https://github.com/newsbot/newsbot)"

"""The reader stages: fetch feeds (:mod:`.fetcher`), parse them (:mod:`.parser`) and normalise
their content (:mod:`.processor`); OPML subscription lists (:mod:`.opml`)."""

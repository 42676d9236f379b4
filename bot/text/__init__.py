"""Text analysis shared by the matcher and the clusterer.

`tokens`: Unicode/case folding, tokenising and light inflection folding (`fold`, `tokenize`,
`stem`; the matcher's `normal_form`, `stems`); `frequency`: how common an English word is, for
the stemmer, from a memory-mapped table (`zipf`); `stopwords`: function words and news boilerplate;
`quantities`: money, power and chip counts found in text (`extract_quantities`, `same_figure`);
`plural`: a count and the noun that agrees with it ("1 story", "2 stories"); `redaction`: URLs
fit to show or log, credentials masked (`mask_url`, `mask_urls_in`, `url_label`), for every layer;
`clutter`: page clutter (related-story teasers, sign-up and share lines) removed from text lines,
for the reader's normalisation and the clusterer's own reading (`strip_clutter`).

The package imports nothing itself: each name is imported from the module that defines it
(`from bot.text.plural import plural`), so that static tools see every import and a layer that
needs `redaction` does not load the tokeniser and the quantity patterns with it.
"""

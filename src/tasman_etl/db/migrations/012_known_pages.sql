-- 012_known_pages: a page the API serves again byte for byte is not parsed again.
--
-- A scheduled run mostly re-reads what the last one loaded: on a day without changes every
-- page of a search comes back with the same bytes. ingest_page already records the SHA-256
-- of each page's payload; items_digest adds what the database held for the page's jobs
-- right after the page was loaded: the SHA-256 of "control_number:content_hash" lines, in
-- control-number order, joined by commas. A later page with the same payload SHA-256 is
-- known when the jobs it names still hold exactly that (the same query computes the digest
-- over job): its items are unchanged, so the run records them as seen without validating
-- them again (ADR 0029). Only a page that loaded cleanly gets a digest: no quarantined,
-- duplicate or unknown-key items, no failed expectation; any other page is always parsed.
ALTER TABLE ingest_page ADD COLUMN items_digest text;

CREATE INDEX ingest_page_known_idx ON ingest_page (sha256)
    WHERE status = 'loaded' AND items_digest IS NOT NULL;

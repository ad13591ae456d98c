-- Render nodes (server GPUs running the Pro model) authenticate with a bearer token, stored here only
-- as its SHA-256.
CREATE TABLE render_nodes (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
  created_at INTEGER NOT NULL
) STRICT;

-- Accounts and sessions. Passwords are PBKDF2-SHA256 (WebCrypto; 100 000 iterations, workerd's
-- ceiling); a session is a random token the browser holds in an HttpOnly cookie, stored here only
-- as its SHA-256, beside the CSRF token mutating requests must echo.
CREATE TABLE users (
  id TEXT PRIMARY KEY NOT NULL,
  handle TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(handle) BETWEEN 3 AND 30),
  password_hash TEXT NOT NULL,
  password_salt TEXT NOT NULL,
  password_iterations INTEGER NOT NULL CHECK (password_iterations >= 100000),
  birth_date TEXT NOT NULL CHECK (birth_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
  -- Teen accounts (13–17 at sign-up) start with the stricter defaults.
  is_teen INTEGER NOT NULL CHECK (is_teen IN (0, 1)),
  settings_json TEXT NOT NULL CHECK (json_valid(settings_json)),
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY NOT NULL CHECK (length(token_hash) = 64),
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Failed sign-ins per key (a handle, or a client address) in a fixed window: the rate limit.
CREATE TABLE sign_in_failures (
  key TEXT PRIMARY KEY NOT NULL,
  window_start INTEGER NOT NULL,
  failures INTEGER NOT NULL
) STRICT;

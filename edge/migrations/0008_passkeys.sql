-- Passkeys (WebAuthn credentials): a second way to sign in to an account. The id is the credential
-- id the authenticator chose (16–1023 bytes) and the public key its COSE encoding as verified at
-- registration, both base64url. The signature counter only moves forward: one that goes backwards
-- means the authenticator may have been cloned, and the sign-in is refused.
CREATE TABLE passkeys (
  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 22 AND 1364 AND id NOT GLOB '*[^A-Za-z0-9_-]*'),
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  public_key TEXT NOT NULL CHECK (length(public_key) > 0 AND public_key NOT GLOB '*[^A-Za-z0-9_-]*'),
  counter INTEGER NOT NULL CHECK (counter BETWEEN 0 AND 4294967295),
  -- The transports the browser reported (JSON array of strings), handed back as hints.
  transports_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(transports_json) AND json_type(transports_json) = 'array'),
  device_type TEXT NOT NULL CHECK (device_type IN ('singleDevice', 'multiDevice')),
  backed_up INTEGER NOT NULL CHECK (backed_up IN (0, 1)),
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
  created_at INTEGER NOT NULL,
  last_used_at INTEGER
) STRICT;
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- Pending WebAuthn challenges, kept server-side so each is used once and only for what it was
-- issued for: 'register' (bound to the signed-in user) or 'authenticate' (anyone, before sign-in).
-- A used or expired row stays a while so the refusal can say which it was.
CREATE TABLE webauthn_challenges (
  id TEXT PRIMARY KEY NOT NULL,
  challenge TEXT NOT NULL UNIQUE CHECK (length(challenge) >= 16),
  purpose TEXT NOT NULL CHECK (purpose IN ('register', 'authenticate')),
  user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL CHECK (expires_at = created_at + 300),
  used_at INTEGER,
  CHECK ((purpose = 'register') = (user_id IS NOT NULL))
) STRICT;
CREATE INDEX webauthn_challenges_by_expiry ON webauthn_challenges (expires_at);

-- The instance's Ed25519 keys for consent tokens. The newest unretired key signs; retired keys stay
-- in the JWKS for the longest token lifetime (12 h) so tokens signed before a rotation still verify.
-- (Locally the private JWK lives here; a deployed instance would wrap it with a secret.)
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY NOT NULL,
  public_jwk TEXT NOT NULL CHECK (json_valid(public_jwk)),
  private_jwk TEXT NOT NULL CHECK (json_valid(private_jwk)),
  created_at INTEGER NOT NULL,
  retired_at INTEGER
) STRICT;

-- Revoked consent tokens (by jti): refused here at once, and reported by the status endpoint to
-- other instances.
CREATE TABLE consent_revocations (
  jti TEXT PRIMARY KEY NOT NULL,
  revoked_at INTEGER NOT NULL
) STRICT;

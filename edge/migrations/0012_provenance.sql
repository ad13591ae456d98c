-- C2PA content credentials signed by the instance (POST /api/provenance/sign): its signing identity,
-- and every claim it signed.
--
-- One ES256 (ECDSA P-256) key, made on first use, with a self-issued X.509 certificate that is
-- reissued for the same key a week before it expires, as a device's is. One row: the instance has
-- one signing identity. (Locally the private JWK lives here; a deployed instance would wrap it with
-- a secret.)
CREATE TABLE c2pa_signing_identity (
  slot TEXT PRIMARY KEY NOT NULL CHECK (slot = 'instance'),
  public_jwk TEXT NOT NULL CHECK (json_valid(public_jwk)),
  private_jwk TEXT NOT NULL CHECK (json_valid(private_jwk)),
  -- The certificate (DER) and its sha256 (hex), which verifiers pin.
  certificate BLOB NOT NULL CHECK (length(certificate) > 0),
  certificate_sha256 TEXT NOT NULL CHECK (length(certificate_sha256) = 64),
  created_at INTEGER NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL CHECK (not_after > not_before)
) STRICT;

-- Every claim the instance signed: the claim's sha256 (hex), who asked, for which recipe they
-- published, with which certificate, and when. Public by claim hash (GET
-- /api/provenance/signatures/:claimSha256), so anyone holding a clip can ask what the signature
-- vouches for; the row outlives the account (the signature is already out in the world). A
-- person's rows in the last hour are their rate limit.
CREATE TABLE c2pa_signatures (
  id INTEGER PRIMARY KEY,
  claim_sha256 TEXT NOT NULL CHECK (length(claim_sha256) = 64),
  user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
  recipe_id TEXT NOT NULL REFERENCES recipes (id),
  certificate_sha256 TEXT NOT NULL CHECK (length(certificate_sha256) = 64),
  signed_at INTEGER NOT NULL
) STRICT;
CREATE INDEX c2pa_signatures_by_claim ON c2pa_signatures (claim_sha256, signed_at);
CREATE INDEX c2pa_signatures_by_user ON c2pa_signatures (user_id, signed_at);

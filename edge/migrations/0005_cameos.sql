-- Cameos: a person's likeness (appearance images and a voice sample, in R2, owner-only) that others
-- may use only with the owner's grant. The audience says who may ask; a grant names one person and
-- carries the owner's plain-language restrictions into every consent token issued under it.
CREATE TABLE cameos (
  id TEXT PRIMARY KEY NOT NULL,
  owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
  audience TEXT NOT NULL CHECK (audience IN ('only_me', 'approved', 'mutuals', 'everyone')),
  restrictions TEXT NOT NULL DEFAULT '' CHECK (length(restrictions) <= 500),
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX cameos_by_owner ON cameos (owner_id);

CREATE TABLE cameo_grants (
  cameo_id TEXT NOT NULL REFERENCES cameos (id) ON DELETE CASCADE,
  grantee_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (cameo_id, grantee_id)
) STRICT;

-- Every consent token issued, so revoking a grant revokes its live tokens at once.
CREATE TABLE consent_tokens (
  jti TEXT PRIMARY KEY NOT NULL,
  cameo_id TEXT NOT NULL REFERENCES cameos (id) ON DELETE CASCADE,
  grantee_id TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX consent_tokens_by_grant ON consent_tokens (cameo_id, grantee_id);

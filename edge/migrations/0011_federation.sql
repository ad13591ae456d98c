-- Federation: recipes imported from another Zoetrope instance (POST /api/recipes/import-remote).
-- An import is a publication like a local remix-link import (source 'link'); this records where the
-- importer's copy came from, and goes when that publication goes.
CREATE TABLE recipe_imports (
  recipe_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  -- The other instance's origin (scheme://host[:port]) and the link as given.
  origin TEXT NOT NULL CHECK (origin GLOB 'https://*' OR origin GLOB 'http://*'),
  link TEXT NOT NULL CHECK (length(link) <= 16384),
  imported_at INTEGER NOT NULL,
  PRIMARY KEY (recipe_id, user_id),
  FOREIGN KEY (recipe_id, user_id) REFERENCES recipe_publications (recipe_id, user_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX recipe_imports_by_origin ON recipe_imports (origin, imported_at);

-- Whose consent a cameo use rests on: the issuing instance's origin, NULL for this instance.
ALTER TABLE recipe_cameos ADD COLUMN issuer TEXT;

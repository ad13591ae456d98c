-- Recipes (contracts/recipe.ts, Recipe v1). A recipe is stored once under its content id; the
-- canonical JSON is the source of truth and the other columns index it.
CREATE TABLE recipes (
  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 52),
  canonical_json TEXT NOT NULL CHECK (json_valid(canonical_json)),
  -- The parent may live on another instance, so this is not a foreign key.
  parent_id TEXT CHECK (parent_id IS NULL OR length(parent_id) = 52),
  model_id TEXT NOT NULL,
  model_version TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX recipes_by_parent ON recipes (parent_id) WHERE parent_id IS NOT NULL;

-- Who published which recipe, and when: a recipe (content-addressed, in `recipes`) may be published
-- by several people; each publication is theirs to delete.
CREATE TABLE recipe_publications (
  recipe_id TEXT NOT NULL REFERENCES recipes (id),
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- Where it came from: made here, or imported from a remix link.
  source TEXT NOT NULL CHECK (source IN ('made', 'link')),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (recipe_id, user_id)
) STRICT;
CREATE INDEX recipe_publications_by_user ON recipe_publications (user_id, created_at);

-- Which published recipes use which cameo, under which consent token: the cameo's owner lists every
-- use (anyone's) and can take any of them down.
CREATE TABLE recipe_cameos (
  recipe_id TEXT NOT NULL REFERENCES recipes (id),
  cameo_id TEXT NOT NULL,
  publisher_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  jti TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (recipe_id, cameo_id, publisher_id)
) STRICT;
CREATE INDEX recipe_cameos_by_cameo ON recipe_cameos (cameo_id, created_at);

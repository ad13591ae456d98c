-- Moderation: who reviews reports (an instance operator makes someone a moderator with
-- `wrangler d1 execute zoetrope --local --command "UPDATE users SET role = 'moderator' WHERE handle = '…'"`),
-- the reports people file about published recipes, and the decisions on them.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'moderator'));

CREATE TABLE reports (
  id TEXT PRIMARY KEY NOT NULL,
  recipe_id TEXT NOT NULL REFERENCES recipes (id),
  reporter_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  reason TEXT NOT NULL CHECK (reason IN ('sexual', 'violence', 'self_harm', 'hate', 'weapons', 'likeness', 'harassment', 'spam', 'other')),
  note TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'dismissed', 'removed')),
  created_at INTEGER NOT NULL,
  decided_by TEXT REFERENCES users (id) ON DELETE SET NULL,
  decided_at INTEGER,
  decision_note TEXT CHECK (decision_note IS NULL OR length(decision_note) <= 1000),
  -- One open report per person per recipe: reporting twice does not jump the queue.
  UNIQUE (recipe_id, reporter_id)
) STRICT;
CREATE INDEX reports_open ON reports (status, created_at);

-- Recipes a moderator removed: they can not be published again on this instance.
CREATE TABLE recipe_removals (
  recipe_id TEXT PRIMARY KEY NOT NULL REFERENCES recipes (id),
  report_id TEXT REFERENCES reports (id),
  removed_by TEXT REFERENCES users (id) ON DELETE SET NULL,
  removed_at INTEGER NOT NULL
) STRICT;

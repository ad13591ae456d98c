-- The feed: each person's steering instruction (kept as written, and as the weights it was read as),
-- and their feed time, which drives the wellbeing check-in and the daily cap. Nothing here records
-- what was watched or for how long an item was on screen: the feed ranks for making and remixing.
CREATE TABLE feed_steering (
  user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  instruction TEXT NOT NULL CHECK (length(instruction) <= 500),
  steering_json TEXT NOT NULL CHECK (json_valid(steering_json)),
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE feed_time (
  user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- The UTC day the seconds count towards (YYYY-MM-DD).
  day TEXT NOT NULL,
  seconds_today INTEGER NOT NULL CHECK (seconds_today >= 0),
  -- When the current stretch of continuous scrolling began, and the last feed request in it.
  stretch_started_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  check_ins_today INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Parental controls: a teen links one parent account with a short-lived code the teen makes. The
-- parent sets the teen's limits and sees their settings, never their content.
CREATE TABLE family_links (
  child_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  parent_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  CHECK (child_id <> parent_id)
) STRICT;
CREATE INDEX family_links_by_parent ON family_links (parent_id);

CREATE TABLE family_link_codes (
  code_hash TEXT PRIMARY KEY NOT NULL CHECK (length(code_hash) = 64),
  child_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  expires_at INTEGER NOT NULL
) STRICT;

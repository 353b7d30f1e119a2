-- An operator may disable a user (`harmont-auth user disable`): their
-- sessions and keys stay, refused until they are enabled again.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

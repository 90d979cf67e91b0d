-- Users and their credentials. password_hash is an argon2id PHC string, which embeds its salt
-- and parameters; roles is a JSON array of role names from the gateway configuration.
CREATE TABLE users (
  id text PRIMARY KEY,
  username text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  roles jsonb NOT NULL DEFAULT '[]'::jsonb
);

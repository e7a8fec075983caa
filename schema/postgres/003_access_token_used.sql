-- Whether an access token has been used.  The first use of an access token
-- issued by /refresh revokes the refresh token it replaced (the spec keeps
-- the old refresh token valid until the new access or refresh token is used).
ALTER TABLE access_tokens ADD COLUMN used INTEGER NOT NULL DEFAULT 0;

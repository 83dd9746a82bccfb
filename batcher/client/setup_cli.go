package client

// TokenSource returns the source of the client's access tokens, so a reader
// that issues its own requests (the planner's live reader) authenticates
// through the same bootstrap (NewFromEnv) as the client: same credentials,
// same token file, same geolocation.
func (c *Client) TokenSource() TokenSource { return c.cfg.Tokens }

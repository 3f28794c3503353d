/** JSON-schema pieces the route modules share (OpenAPI and validation). */
export const envelope = (data: object = { type: 'object', additionalProperties: true }) => ({
  type: 'object',
  properties: { code: { type: 'integer' }, message: { type: 'string' }, data },
});

export const bearer = [{ bearer: [] }];

/** Ids we hand out are short: anything longer is refused by the schema before a lookup. */
// No control characters: Postgres cannot even compare a text holding NUL (it answered 500).
export const idString = { type: 'string', maxLength: 128, pattern: '^[^\\u0000-\\u001f]*$' } as const;
/** The agent named in a path; stored with a new session, so no control characters either. */
export const agentName = { type: 'string', maxLength: 64, pattern: '^[^\\u0000-\\u001f]*$' } as const;

/** JSON-schema pieces the route modules share (OpenAPI and validation). */
export const envelope = (data: object = { type: 'object', additionalProperties: true }) => ({
  type: 'object',
  properties: { code: { type: 'integer' }, message: { type: 'string' }, data },
});

export const bearer = [{ bearer: [] }];

/** Ids we hand out are short: anything longer is refused by the schema before a lookup. */
export const idString = { type: 'string', maxLength: 128 } as const;

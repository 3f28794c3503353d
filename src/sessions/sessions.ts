/**
 * A session is one user's project with the agent: its uploaded media, its current draft, the
 * transcripts and files made for it. Every read names the caller's account: another user's
 * session id is answered exactly like a missing one (1002), so ids leak nothing.
 */
import { randomUUID } from 'node:crypto';
import type { MediaInfo, UploadKind } from '../media/index.ts';
import { parseDraft, placeUploads, type Draft, type UploadedMedia } from '../render/index.ts';
import { ErrorCode, isVidscribeError, VidscribeError } from '../shared/errors.ts';
import { type Db, type FilesTable, lockRow, type MediaTable, type SessionsTable, sql, type TranscriptsTable } from '../storage/database.ts';
import { PreparedQuery } from '../storage/prepared.ts';
import { transcriptText, type Transcript } from '../transcript/index.ts';
import { applyTranscriptEdits, type TranscriptEdits } from './transcript-edits.ts';

export interface Session {
  id: string;
  accountId: string;
  agent: string;
  taskName: string;
  language: string;
  createdAt: number;
}

export interface MediaItem {
  id: string;
  sessionId: string;
  name: string;
  kind: UploadKind;
  storeKey: string;
  sizeBytes: number;
  durationSec: number;
  info: Omit<MediaInfo, 'path'>;
  createdAt: number;
}

export interface TranscriptRecord {
  id: string;
  mediaId: string | null;
  jobId: string;
  language: string;
  text: string;
  /** Starts at 1; each accepted edit adds one. */
  version: number;
  createdAt: number;
}

/** A session as the caller's list shows it: its name, dates, and the files in it. */
export interface SessionSummary {
  id: string;
  taskName: string;
  createdAt: number;
  updatedAt: number;
  media: { id: string; name: string; kind: UploadKind }[];
}

export interface StoredFile {
  id: string;
  accountId: string;
  sessionId: string | null;
  jobId: string | null;
  name: string;
  contentType: string;
  storeKey: string;
  sizeBytes: number;
  createdAt: number;
}

// The reads behind every state request, compiled once (bench:api).
const sessionById = new PreparedQuery<{ id: string; accountId: string }, SessionsTable>((db, p) =>
  db.selectFrom('sessions').selectAll().where('id', '=', p('id')).where('account_id', '=', p('accountId')),
);
const mediaOfSession = new PreparedQuery<{ sessionId: string }, MediaTable>((db, p) =>
  db.selectFrom('media').selectAll().where('session_id', '=', p('sessionId')).orderBy('position'),
);
const transcriptsOfSession = new PreparedQuery<
  { sessionId: string },
  Pick<TranscriptsTable, 'id' | 'media_id' | 'job_id' | 'language' | 'text' | 'created_at'> & { version: number }
>((db, p) =>
  db
    .selectFrom('transcripts')
    .select(['id', 'media_id', 'job_id', 'language', 'text', 'version', 'created_at'])
    .where('session_id', '=', p('sessionId'))
    .orderBy('created_at'),
);
const filesOfSession = new PreparedQuery<{ sessionId: string }, FilesTable>((db, p) =>
  db.selectFrom('files').selectAll().where('session_id', '=', p('sessionId')).orderBy('created_at'),
);

const newId = (prefix: string) => `${prefix}_${randomUUID().replaceAll('-', '')}`;

/**
 * Sessions one account may keep. Opening one is free and an account cannot delete any yet, so
 * this bounds the rows (and their draft versions) a free token can leave: at 900 a second, a
 * loop made 66 GB of sessions a day.
 */
export const MAX_SESSIONS_PER_ACCOUNT = 1000;
/** Uploads one session holds: its state lists them all, and each is a row, however small the file. */
export const MAX_MEDIA_PER_SESSION = 500;
/**
 * The least an upload counts for in the storage quota: a 94-byte picture costs a row of several
 * hundred bytes, and counted by its own size, 10 GB of quota held a hundred million of them.
 */
export const MIN_COUNTED_BYTES = 64 * 1024;

/** What an upload of `sizeBytes` counts for in the storage quota. */
export const countedBytes = (sizeBytes: number) => Math.max(sizeBytes, MIN_COUNTED_BYTES);

export interface SessionLimits {
  sessionsPerAccount: number;
  mediaPerSession: number;
}

export class Sessions {
  private readonly limits: SessionLimits;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
    limits: Partial<SessionLimits> = {},
  ) {
    this.limits = { sessionsPerAccount: MAX_SESSIONS_PER_ACCOUNT, mediaPerSession: MAX_MEDIA_PER_SESSION, ...limits };
  }

  async create(accountId: string, input: { agent: string; taskName?: string; language?: string }): Promise<Session> {
    const s: Session = {
      id: newId('ses'),
      accountId,
      agent: input.agent,
      // NUL is dropped: Postgres cannot store it in text, and a name has no use for it.
      taskName: (input.taskName ?? 'project').replaceAll('\u0000', ''),
      language: (input.language ?? 'en').replaceAll('\u0000', ''),
      createdAt: this.now(),
    };
    await this.db.transaction().execute(async (trx) => {
      // Two opened at once are counted one after the other (Postgres; SQLite writes one at a time).
      await lockRow(trx, 'accounts', accountId);
      const kept = await trx
        .selectFrom('sessions')
        .select((e) => e.fn.countAll<number>().as('n'))
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      if (Number(kept?.n ?? 0) >= this.limits.sessionsPerAccount)
        throw new VidscribeError(
          ErrorCode.RateLimited,
          `This account already has ${this.limits.sessionsPerAccount} sessions, the most it may keep: continue in one of them`,
        );
      await trx
        .insertInto('sessions')
        .values({
          id: s.id,
          account_id: accountId,
          agent: s.agent,
          task_name: s.taskName,
          language: s.language,
          draft: null,
          created_at: s.createdAt,
          updated_at: s.createdAt,
        })
        .execute();
    });
    return s;
  }

  /** At most this many sessions in one list. */
  static readonly LIST_MAX = 100;

  /** The caller's sessions, most recently changed first, each with its media's names (two queries, whatever the count). */
  async list(accountId: string, limit = 20): Promise<SessionSummary[]> {
    const n = Math.max(1, Math.min(Sessions.LIST_MAX, Math.floor(limit)));
    const rows = await this.db
      .selectFrom('sessions')
      .select(['id', 'task_name', 'created_at', 'updated_at'])
      .where('account_id', '=', accountId)
      .orderBy('updated_at', 'desc')
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(n)
      .execute();
    if (rows.length === 0) return [];
    const media = await this.db
      .selectFrom('media')
      .select(['id', 'session_id', 'name', 'kind'])
      .where('account_id', '=', accountId)
      .where(
        'session_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('position')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      taskName: r.task_name,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
      media: media.filter((m) => m.session_id === r.id).map((m) => ({ id: m.id, name: m.name, kind: m.kind })),
    }));
  }

  /** The caller's session, or 1002 (also for someone else's). */
  async get(accountId: string, sessionId: string): Promise<Session> {
    return (await this.getWithDraft(accountId, sessionId)).session;
  }

  /** The session and its current draft in one read (the state endpoint). */
  async getWithDraft(accountId: string, sessionId: string): Promise<{ session: Session; draft: Draft | null }> {
    const r = await sessionById.first(this.db, { id: sessionId, accountId });
    if (!r) throw new VidscribeError(ErrorCode.SessionNotFound, `Session ${sessionId} not found`);
    return {
      session: { id: r.id, accountId: r.account_id, agent: r.agent, taskName: r.task_name, language: r.language, createdAt: Number(r.created_at) },
      draft: r.draft ? (JSON.parse(r.draft) as Draft) : null,
    };
  }

  async draft(sessionId: string): Promise<Draft | null> {
    const r = await this.db.selectFrom('sessions').select('draft').where('id', '=', sessionId).executeTakeFirst();
    return r?.draft ? (JSON.parse(r.draft) as Draft) : null;
  }

  /** Stores a new draft version (validated: nothing invalid is ever stored). */
  async saveDraft(sessionId: string, draft: Draft): Promise<Draft> {
    const valid = parseDraft(draft);
    await this.db
      .updateTable('sessions')
      .set({ draft: JSON.stringify(valid), updated_at: this.now() })
      .where('id', '=', sessionId)
      .execute();
    return valid;
  }

  // --- Draft versions (undo, redo, start over) -------------------------------------------------

  /** Versions kept per session; the oldest go first (a long session cannot grow without limit). */
  static readonly DRAFT_VERSIONS_KEPT = 200;
  /**
   * Characters of draft kept in a session's versions, all together; the oldest go first, the
   * current one always stays. A draft may hold 250 000 characters of text: 200 such versions were
   * 54 MB, made in seconds by free edits (undo reads them all at once, too).
   */
  static readonly DRAFT_VERSION_CHARS_KEPT = 10_000_000;

  /**
   * Stores an edit of the draft as a new version after the current one: a new edit after an undo
   * drops the versions that redo would have restored. A draft stored by other means since the last
   * version (an upload's) is kept as a version of its own first, marked 'upload', so undo and
   * "start over" can reach it. Storing the draft already current adds nothing.
   */
  async commitDraft(sessionId: string, draft: Draft): Promise<Draft> {
    const valid = parseDraft(draft);
    const json = JSON.stringify(valid);
    await this.db.transaction().execute(async (trx) => {
      // Numbered after the last version: another change of the session waits (Postgres; SQLite writes one at a time).
      await lockRow(trx, 'sessions', sessionId);
      const cursor = await this.captureStoredDraft(trx, sessionId);
      const current = await trx.selectFrom('sessions').select('draft').where('id', '=', sessionId).executeTakeFirst();
      if (current?.draft === json) return;
      const next = (cursor ?? 0) + 1;
      await trx.deleteFrom('draft_versions').where('session_id', '=', sessionId).where('version', '>=', next).execute();
      await trx.insertInto('draft_versions').values({ session_id: sessionId, version: next, draft: json, origin: 'edit', created_at: this.now() }).execute();
      await trx
        .deleteFrom('draft_versions')
        .where('session_id', '=', sessionId)
        .where('version', '<=', next - Sessions.DRAFT_VERSIONS_KEPT)
        .execute();
      await dropVersionsPastBudget(trx, sessionId, Sessions.DRAFT_VERSION_CHARS_KEPT);
      await trx.updateTable('sessions').set({ draft: json, draft_cursor: next, updated_at: this.now() }).where('id', '=', sessionId).execute();
    });
    return valid;
  }

  /** Moves back `steps` versions (fewer if there are not so many); the draft is restored exactly as stored. Undefined when there is nothing to undo. */
  async undoDraft(sessionId: string, steps = 1): Promise<Draft | undefined> {
    return this.moveDraftCursor(sessionId, -steps);
  }

  /** Moves forward `steps` versions after an undo; undefined when there is nothing to redo. */
  async redoDraft(sessionId: string, steps = 1): Promise<Draft | undefined> {
    return this.moveDraftCursor(sessionId, steps);
  }

  /** How many versions are kept and which is current (the state a test or client can show). */
  async draftHistory(sessionId: string): Promise<{ versions: number; cursor: number | null; canUndo: boolean; canRedo: boolean }> {
    const s = await this.db.selectFrom('sessions').select('draft_cursor').where('id', '=', sessionId).executeTakeFirst();
    const rows = await this.db.selectFrom('draft_versions').select('version').where('session_id', '=', sessionId).orderBy('version').execute();
    const cursor = s?.draft_cursor ?? null;
    return {
      versions: rows.length,
      cursor,
      canUndo: cursor !== null && rows.some((r) => r.version < cursor),
      canRedo: cursor !== null && rows.some((r) => r.version > cursor),
    };
  }

  /** The stored draft as a version when it is not the current one (stored by an upload, or before versions existed). Returns the cursor. */
  private async captureStoredDraft(trx: Db, sessionId: string): Promise<number | null> {
    const s = await trx.selectFrom('sessions').select(['draft', 'draft_cursor']).where('id', '=', sessionId).executeTakeFirst();
    if (!s) throw new VidscribeError(ErrorCode.SessionNotFound, `Session ${sessionId} not found`);
    const cursor = s.draft_cursor ?? null;
    if (s.draft === null) return cursor;
    const at =
      cursor === null
        ? undefined
        : await trx.selectFrom('draft_versions').select('draft').where('session_id', '=', sessionId).where('version', '=', cursor).executeTakeFirst();
    if (at?.draft === s.draft) return cursor;
    const top = await trx
      .selectFrom('draft_versions')
      .select((e) => e.fn.max<number>('version').as('v'))
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
    const next = Math.max(cursor ?? 0, Number(top?.v ?? 0)) + 1;
    // Something other than an edit changed the draft: the redo branch no longer applies to it.
    await trx
      .deleteFrom('draft_versions')
      .where('session_id', '=', sessionId)
      .where('version', '>', cursor ?? 0)
      .execute();
    await trx.insertInto('draft_versions').values({ session_id: sessionId, version: next, draft: s.draft, origin: 'upload', created_at: this.now() }).execute();
    await trx.updateTable('sessions').set({ draft_cursor: next }).where('id', '=', sessionId).execute();
    return next;
  }

  private async moveDraftCursor(sessionId: string, by: number): Promise<Draft | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await lockRow(trx, 'sessions', sessionId);
      const cursor = await this.captureStoredDraft(trx, sessionId);
      if (cursor === null) return undefined;
      const rows = await trx.selectFrom('draft_versions').select(['version', 'draft']).where('session_id', '=', sessionId).orderBy('version').execute();
      const here = rows.findIndex((r) => r.version === cursor);
      const to = rows[Math.min(rows.length - 1, Math.max(0, here + by))];
      if (!to || to.version === cursor) return undefined;
      // The stored text itself, not a re-serialisation: undo is exact.
      await trx.updateTable('sessions').set({ draft: to.draft, draft_cursor: to.version, updated_at: this.now() }).where('id', '=', sessionId).execute();
      return JSON.parse(to.draft) as Draft;
    });
  }

  /**
   * Records an upload's media items and puts them on the session's draft (placeUploads: the first
   * video starts the main track, later ones are appended, photos alone make a slideshow) in one
   * transaction, so the state never shows media without its draft. Nothing in the draft is moved
   * or removed.
   */
  async addMediaToDraft(session: Session, list: readonly NewMedia[], opts: { quotaBytes?: number } = {}): Promise<{ items: MediaItem[]; draft: Draft | null }> {
    return this.db.transaction().execute(async (trx) => {
      if (opts.quotaBytes !== undefined) {
        // Uploads to two sessions of one account at once: the second waits here for the first,
        // then counts it (Postgres; SQLite runs one write transaction at a time).
        await lockRow(trx, 'accounts', session.accountId);
        checkQuota(
          await this.uploadedBytes(session.accountId, trx),
          list.reduce((n, m) => n + countedBytes(m.sizeBytes), 0),
          opts.quotaBytes,
        );
      }
      await lockRow(trx, 'sessions', session.id);
      const earlier = (await mediaOfSession.execute(trx, { sessionId: session.id })).map((r) => asUploaded(rowToMedia(r)));
      this.checkMediaRoom(earlier.length, list.length);
      const items: MediaItem[] = [];
      for (const m of list) items.push(await this.insertMedia(trx, session, m));
      const row = await trx.selectFrom('sessions').select('draft').where('id', '=', session.id).executeTakeFirst();
      const current = row?.draft ? (JSON.parse(row.draft) as Draft) : null;
      const next = placeUploads(current, items.map(asUploaded), { earlier });
      // Uploads the draft cannot take (past its 6-hour timeline or its segment limits: a file
      // longer than that, or a header that claims so) are kept, unplaced, with the draft as it
      // was: refused here, the upload failed after its file was stored, and left the file behind.
      const valid = next && next !== current ? placeable(next) : undefined;
      if (valid) {
        await trx
          .updateTable('sessions')
          .set({ draft: JSON.stringify(valid), updated_at: this.now() })
          .where('id', '=', session.id)
          .execute();
        return { items, draft: valid };
      }
      return { items, draft: current };
    });
  }

  /** 400 unless `adding` more uploads fit in the session beside its `held` ones (SessionLimits.mediaPerSession). */
  checkMediaRoom(held: number, adding: number): void {
    const max = this.limits.mediaPerSession;
    if (held + adding > max)
      throw new VidscribeError(ErrorCode.BadRequest, `A session holds at most ${max} uploads (this one has ${held}): start a new session for more`);
  }

  /** How many uploads the session holds. */
  async mediaCount(sessionId: string): Promise<number> {
    const r = await this.db
      .selectFrom('media')
      .select((e) => e.fn.countAll<number>().as('n'))
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Bytes the uploads the account keeps count for in its storage quota (countedBytes), in all its sessions. */
  async uploadedBytes(accountId: string, db: Db = this.db): Promise<number> {
    const r = await db
      .selectFrom('media')
      .select(sql<number>`coalesce(sum(case when size_bytes < ${MIN_COUNTED_BYTES} then ${MIN_COUNTED_BYTES} else size_bytes end), 0)`.as('n'))
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** The session's media as a draft made from them would start (a session whose media came before drafts followed uploads). */
  async draftFromSessionMedia(sessionId: string): Promise<Draft | null> {
    const media = await this.media(sessionId);
    return placeUploads(null, media.map(asUploaded));
  }

  async addMedia(session: Session, m: NewMedia): Promise<MediaItem> {
    return this.insertMedia(this.db, session, m);
  }

  private async insertMedia(db: Db, session: Session, m: NewMedia): Promise<MediaItem> {
    const { path: _path, ...info } = m.info;
    const item: MediaItem = {
      id: newId('med'),
      sessionId: session.id,
      name: m.name,
      kind: m.kind,
      storeKey: m.storeKey,
      sizeBytes: m.sizeBytes,
      durationSec: info.durationSec,
      info,
      createdAt: this.now(),
    };
    await db
      .insertInto('media')
      .values((eb) => ({
        id: item.id,
        session_id: session.id,
        account_id: session.accountId,
        name: item.name,
        kind: item.kind,
        store_key: item.storeKey,
        size_bytes: item.sizeBytes,
        info: JSON.stringify(info),
        created_at: item.createdAt,
        position: eb
          .selectFrom('media')
          .select((e) => e(e.fn.countAll<number>(), '+', 1).as('n'))
          .where('session_id', '=', session.id),
      }))
      .execute();
    return item;
  }

  async media(sessionId: string): Promise<MediaItem[]> {
    const rows = await mediaOfSession.execute(this.db, { sessionId });
    return rows.map(rowToMedia);
  }

  /** One media item by id (for a signed playback link, which already proves who may read it). */
  async mediaItem(mediaId: string): Promise<MediaItem | undefined> {
    const r = await this.db.selectFrom('media').selectAll().where('id', '=', mediaId).executeTakeFirst();
    return r ? rowToMedia(r) : undefined;
  }

  /** Where an account's media item is stored, or undefined: a draft can reach only its owner's uploads. */
  async storeKeyOf(accountId: string, mediaId: string): Promise<string | undefined> {
    const m = await this.db.selectFrom('media').select('store_key').where('id', '=', mediaId).where('account_id', '=', accountId).executeTakeFirst();
    return m?.store_key;
  }

  async addTranscript(input: {
    accountId: string;
    sessionId: string | null;
    mediaId: string | null;
    jobId: string;
    transcript: Transcript;
    text: string;
  }): Promise<TranscriptRecord> {
    const rec: TranscriptRecord = {
      id: newId('trn'),
      mediaId: input.mediaId,
      jobId: input.jobId,
      language: input.transcript.language,
      text: input.text,
      version: 1,
      createdAt: this.now(),
    };
    await this.db
      .insertInto('transcripts')
      .values({
        id: rec.id,
        session_id: input.sessionId,
        account_id: input.accountId,
        media_id: input.mediaId,
        job_id: input.jobId,
        language: rec.language,
        text: rec.text,
        body: JSON.stringify(input.transcript),
        created_at: rec.createdAt,
      })
      .execute();
    return rec;
  }

  async transcripts(sessionId: string): Promise<TranscriptRecord[]> {
    const rows = await transcriptsOfSession.execute(this.db, { sessionId });
    return rows.map(toTranscriptRecord);
  }

  /** One transcript of the session, whole, with its record (version included); undefined when the session has no such transcript. */
  async transcript(sessionId: string, transcriptId: string): Promise<{ record: TranscriptRecord; transcript: Transcript } | undefined> {
    const r = await this.db.selectFrom('transcripts').selectAll().where('id', '=', transcriptId).where('session_id', '=', sessionId).executeTakeFirst();
    if (!r) return undefined;
    return { record: toTranscriptRecord(r), transcript: JSON.parse(r.body) as Transcript };
  }

  /**
   * Applies a person's corrections (applyTranscriptEdits: words retyped, speakers renamed, timings
   * kept) to the version they were made on. The write names that version, so of two tabs editing
   * the same version one wins and the other gets 4009 (reload and edit again), never a silent
   * overwrite. Returns the new version. Everything that reads the transcript later (exports,
   * captions burned into a render) reads the edited body.
   */
  async editTranscript(sessionId: string, transcriptId: string, baseVersion: number, edits: TranscriptEdits): Promise<number> {
    const found = await this.transcript(sessionId, transcriptId);
    if (!found) throw new VidscribeError(ErrorCode.NotFound, `No transcript ${transcriptId} in this session`);
    const conflict = () =>
      new VidscribeError(ErrorCode.VersionConflict, 'This transcript was changed elsewhere (another tab?): reload it and make the edit again', {
        data: { version: found.record.version },
      });
    if (found.record.version !== baseVersion) throw conflict();
    const edited = applyTranscriptEdits(found.transcript, edits);
    const next = baseVersion + 1;
    const r = await this.db
      .updateTable('transcripts')
      .set({ body: JSON.stringify(edited), text: transcriptText(edited), version: next })
      .where('id', '=', transcriptId)
      .where('session_id', '=', sessionId)
      .where('version', '=', baseVersion)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw conflict();
    await this.db.updateTable('sessions').set({ updated_at: this.now() }).where('id', '=', sessionId).execute();
    return next;
  }

  /** The latest transcript of a media item, whole. */
  async transcriptOf(sessionId: string, mediaId: string): Promise<Transcript | undefined> {
    const r = await this.db
      .selectFrom('transcripts')
      .select('body')
      .where('session_id', '=', sessionId)
      .where('media_id', '=', mediaId)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    return r ? (JSON.parse(r.body) as Transcript) : undefined;
  }

  async transcriptByJob(jobId: string): Promise<Transcript | undefined> {
    const r = await this.db.selectFrom('transcripts').select('body').where('job_id', '=', jobId).executeTakeFirst();
    return r ? (JSON.parse(r.body) as Transcript) : undefined;
  }

  async addFile(input: Omit<StoredFile, 'id' | 'createdAt'>): Promise<StoredFile> {
    const f: StoredFile = { ...input, id: newId('fil'), createdAt: this.now() };
    await this.db
      .insertInto('files')
      .values({
        id: f.id,
        account_id: f.accountId,
        session_id: f.sessionId,
        job_id: f.jobId,
        name: f.name,
        content_type: f.contentType,
        store_key: f.storeKey,
        size_bytes: f.sizeBytes,
        created_at: f.createdAt,
      })
      .execute();
    return f;
  }

  async file(fileId: string): Promise<StoredFile | undefined> {
    const r = await this.db.selectFrom('files').selectAll().where('id', '=', fileId).executeTakeFirst();
    return r ? toStoredFile(r) : undefined;
  }

  async files(sessionId: string): Promise<StoredFile[]> {
    const rows = await filesOfSession.execute(this.db, { sessionId });
    return rows.map(toStoredFile);
  }
}

/** `draft` if it is valid, else undefined; any other failure is thrown. */
function placeable(draft: Draft): Draft | undefined {
  try {
    return parseDraft(draft);
  } catch (e) {
    if (isVidscribeError(e) && e.code === ErrorCode.InvalidDraft) return undefined;
    throw e;
  }
}

export interface NewMedia {
  name: string;
  kind: UploadKind;
  storeKey: string;
  sizeBytes: number;
  info: MediaInfo;
}

/** Drops a session's oldest draft versions until the rest hold at most `chars` characters; the newest always stays. */
async function dropVersionsPastBudget(trx: Db, sessionId: string, chars: number): Promise<void> {
  const sizes = await trx
    .selectFrom('draft_versions')
    .select(['version', sql<number>`length(draft)`.as('n')])
    .where('session_id', '=', sessionId)
    .orderBy('version', 'desc')
    .execute();
  let kept = 0;
  for (const [i, v] of sizes.entries()) {
    kept += Number(v.n);
    if (kept > chars && i > 0) {
      await trx.deleteFrom('draft_versions').where('session_id', '=', sessionId).where('version', '<=', v.version).execute();
      return;
    }
  }
}

/**
 * 4002 unless `adding` more bytes (undefined: any at all, before the size is known) fit in the
 * quota beside the `used` ones.
 */
export function checkQuota(used: number, adding: number | undefined, quota: number): void {
  if (used + (adding ?? 1) > quota) throw quotaExceeded(used, quota, adding === undefined ? undefined : { bytes: adding });
}

/**
 * The 4002 of an upload past the storage quota: the account already full, an upload of known
 * size, or one cut off at what was left (`moreThan`). An account cannot delete uploads yet, so a
 * full one stays full: the message says who can raise it.
 */
export function quotaExceeded(used: number, quota: number, upload?: { bytes: number } | { moreThan: number }): VidscribeError {
  // MB as --quota-mb and --max-upload-mb count them: 1024 × 1024 bytes.
  const mb = (n: number) => `${(n / 1048576).toFixed(n < 10 * 1048576 ? 1 : 0)} MB`;
  const what = !upload ? "This account's uploads fill its storage quota" : "This upload would pass this account's storage quota";
  const size = !upload ? '' : 'bytes' in upload ? `, and the upload is ${mb(upload.bytes)}` : `, and the upload is larger than the ${mb(upload.moreThan)} left`;
  return new VidscribeError(
    ErrorCode.FileTooLarge,
    `${what}: it keeps ${mb(used)} of ${mb(quota)}${size}. Ask the server's administrator for a larger quota (vidscribe serve --quota-mb).`,
    { data: { quota_bytes: quota, used_bytes: used, ...(upload && 'bytes' in upload ? { upload_bytes: upload.bytes } : {}) } },
  );
}

function rowToMedia(r: MediaTable): MediaItem {
  const info = JSON.parse(r.info) as Omit<MediaInfo, 'path'>;
  return {
    id: r.id,
    sessionId: r.session_id,
    name: r.name,
    kind: r.kind,
    storeKey: r.store_key,
    sizeBytes: r.size_bytes,
    durationSec: info.durationSec,
    info,
    createdAt: Number(r.created_at),
  };
}

/** A media item as the draft sees it. */
function asUploaded(m: MediaItem): UploadedMedia {
  const v = m.info.video[0];
  return { src: m.id, kind: m.kind, durationSec: m.durationSec, ...(v ? { width: v.width, height: v.height } : {}) };
}

function toStoredFile(r: FilesTable): StoredFile {
  return {
    id: r.id,
    accountId: r.account_id,
    sessionId: r.session_id,
    jobId: r.job_id,
    name: r.name,
    contentType: r.content_type,
    storeKey: r.store_key,
    sizeBytes: r.size_bytes,
    createdAt: Number(r.created_at),
  };
}

function toTranscriptRecord(
  r: Pick<TranscriptsTable, 'id' | 'media_id' | 'job_id' | 'language' | 'text' | 'created_at'> & { version: unknown },
): TranscriptRecord {
  return {
    id: r.id,
    mediaId: r.media_id,
    jobId: r.job_id,
    language: r.language,
    text: r.text,
    version: Number(r.version),
    createdAt: Number(r.created_at),
  };
}

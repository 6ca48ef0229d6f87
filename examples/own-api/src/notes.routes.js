import { randomUUID } from 'node:crypto';
import { BODY_PROBLEMS, notFound, problems, TOKEN_PROBLEMS } from 'gatehouse';
import { countNotes, deleteNoteOfOwner, findNoteOfOwner, insertNote, listNotesOfOwner } from './notes.repository.js';

const security = [{ bearerAuth: [] }];
const tags = ['Notes'];

const Note = {
  type: 'object',
  required: ['id', 'title', 'body', 'created_at'],
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    body: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
  },
};
const NewNote = {
  type: 'object',
  required: ['title'],
  additionalProperties: false,
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 200 },
    body: { type: 'string', maxLength: 10_000, default: '' },
  },
  examples: [{ title: 'Groceries', body: 'oat milk, lemons' }],
};
const IdParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', maxLength: 200 } } };
const ListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
};
const NO_SUCH_NOTE = { code: 'NOT_FOUND', detail: 'No such note.', when: "no such note (or someone else's)" };

/**
 * /notes: each user's own notes, behind app.authenticate; /admin/notes/summary for admins.
 * @type {import('fastify').FastifyPluginAsync}
 */
export async function notesRoutes(app) {
  // Every route of this context needs a valid access token of a live session.
  app.addHook('onRequest', app.authenticate);
  const db = app.gatehouse.db;

  app.get(
    '/notes',
    {
      schema: {
        tags,
        summary: 'Your notes, newest first',
        security,
        querystring: ListQuery,
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: Note } } }, ...problems(...TOKEN_PROBLEMS) },
      },
    },
    async (request) => ({ items: await listNotesOfOwner(db, request.user.id, /** @type {any} */ (request.query).limit) }),
  );

  app.post(
    '/notes',
    {
      schema: {
        tags,
        summary: 'Write a note',
        security,
        body: NewNote,
        response: { 201: Note, ...problems(...BODY_PROBLEMS, ...TOKEN_PROBLEMS) },
      },
    },
    async (request, reply) => {
      const { title, body } = /** @type {{ title: string; body: string }} */ (request.body);
      const note = { id: randomUUID(), owner_id: request.user.id, title, body, created_at: new Date().toISOString() };
      await insertNote(db, note);
      const { owner_id: _owner, ...visible } = note;
      return reply.code(201).header('location', `/notes/${note.id}`).send(visible);
    },
  );

  app.get(
    '/notes/:id',
    {
      schema: {
        tags,
        summary: 'One of your notes',
        security,
        params: IdParams,
        response: { 200: Note, ...problems(NO_SUCH_NOTE, ...TOKEN_PROBLEMS) },
      },
    },
    async (request) => {
      const note = await findNoteOfOwner(db, /** @type {any} */ (request.params).id, request.user.id);
      if (!note) throw notFound('No such note.');
      return note;
    },
  );

  app.delete(
    '/notes/:id',
    {
      schema: {
        tags,
        summary: 'Delete one of your notes',
        security,
        params: IdParams,
        response: { 204: { type: 'null', description: 'Deleted' }, ...problems(NO_SUCH_NOTE, ...TOKEN_PROBLEMS) },
      },
    },
    async (request, reply) => {
      if (!(await deleteNoteOfOwner(db, /** @type {any} */ (request.params).id, request.user.id))) throw notFound('No such note.');
      return reply.code(204).send();
    },
  );

  app.get(
    '/admin/notes/summary',
    {
      // Deny by default: only the admin role passes, checked after authenticate.
      onRequest: app.requireRole('admin'),
      schema: {
        tags,
        summary: 'How many notes, by how many users (admin)',
        security,
        response: {
          200: { type: 'object', properties: { notes: { type: 'integer' }, owners: { type: 'integer' } } },
          ...problems({ code: 'FORBIDDEN', detail: 'This action needs the admin role.', when: 'not an admin' }, ...TOKEN_PROBLEMS),
        },
      },
    },
    async () => countNotes(db),
  );
}

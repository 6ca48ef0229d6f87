import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { BODY_PROBLEMS, created, noContent, problems, QUERY_PROBLEM, TOKEN_PROBLEMS } from '../../lib/http-schemas.js';
import { normalizeBodyFields } from '../../lib/normalize-body.js';
import {
  BucketlistIdParams,
  BucketlistPage,
  BucketlistSchema,
  CreateBucketlistBody,
  CreateItemBody,
  ItemIdParams,
  ItemPage,
  ItemSchema,
  ListBucketlistsQuery,
  ListItemsQuery,
  PatchBucketlistBody,
  PatchItemBody,
} from './bucketlists.schemas.js';
import type { BucketlistsService } from './bucketlists.service.js';

const security = [{ bearerAuth: [] }];
const tags = ['Bucketlists'];
const trimName = async (request: { body: unknown }) => normalizeBodyFields(request.body, ['name']);
const trimTitle = async (request: { body: unknown }) => normalizeBodyFields(request.body, ['title']);
// Someone else's bucketlist answers exactly like a missing one, so ids reveal nothing.
const NO_SUCH_BUCKETLIST = { code: 'NOT_FOUND', detail: 'No such bucketlist.', when: "no such bucketlist, or someone else's" } as const;
const NO_SUCH_ITEM = {
  code: 'NOT_FOUND',
  detail: 'No such item.',
  when: "no such bucketlist or item, or someone else's bucketlist",
} as const;

/** /bucketlists: private to their owner (admins may access any by id). Every route needs a token. */
export const bucketlistsRoutes: FastifyPluginAsyncTypebox<{ bucketlists: BucketlistsService }> = async (app, { bucketlists }) => {
  app.addHook('onRequest', app.authenticate);

  app.get(
    '/bucketlists',
    {
      schema: {
        tags,
        summary: "List the caller's own bucketlists",
        security,
        querystring: ListBucketlistsQuery,
        response: { 200: BucketlistPage, ...problems(QUERY_PROBLEM, ...TOKEN_PROBLEMS) },
      },
    },
    async (request) => bucketlists.listBucketlists(request.user, request.query),
  );

  app.post(
    '/bucketlists',
    {
      preValidation: trimName,
      schema: {
        tags,
        summary: 'Create a bucketlist',
        security,
        body: CreateBucketlistBody,
        response: { 201: created(Type.Ref(BucketlistSchema), 'The new bucketlist'), ...problems(...BODY_PROBLEMS, ...TOKEN_PROBLEMS) },
      },
    },
    async (request, reply) => {
      const created = await bucketlists.createBucketlist(request.user, request.body);
      return reply.code(201).header('location', `/bucketlists/${created.id}`).send(created);
    },
  );

  app.get(
    '/bucketlists/:id',
    {
      schema: {
        tags,
        summary: 'Get a bucketlist (404 if missing or not yours)',
        security,
        params: BucketlistIdParams,
        response: {
          200: Type.Ref(BucketlistSchema, { description: 'The bucketlist' }),
          ...problems(...TOKEN_PROBLEMS, NO_SUCH_BUCKETLIST),
        },
      },
    },
    async (request) => bucketlists.getBucketlist(request.user, request.params.id),
  );

  app.patch(
    '/bucketlists/:id',
    {
      preValidation: trimName,
      schema: {
        tags,
        summary: 'Update a bucketlist',
        security,
        params: BucketlistIdParams,
        body: PatchBucketlistBody,
        response: {
          200: Type.Ref(BucketlistSchema, { description: 'The updated bucketlist' }),
          ...problems(...BODY_PROBLEMS, ...TOKEN_PROBLEMS, NO_SUCH_BUCKETLIST),
        },
      },
    },
    async (request) => bucketlists.updateBucketlist(request.user, request.params.id, request.body),
  );

  app.delete(
    '/bucketlists/:id',
    {
      schema: {
        tags,
        summary: 'Delete a bucketlist and its items',
        security,
        params: BucketlistIdParams,
        response: { 204: noContent('Bucketlist and its items deleted'), ...problems(...TOKEN_PROBLEMS, NO_SUCH_BUCKETLIST) },
      },
    },
    async (request, reply) => {
      await bucketlists.deleteBucketlist(request.user, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/bucketlists/:id/items',
    {
      schema: {
        tags,
        summary: 'List the items of a bucketlist',
        security,
        params: BucketlistIdParams,
        querystring: ListItemsQuery,
        response: { 200: ItemPage, ...problems(QUERY_PROBLEM, ...TOKEN_PROBLEMS, NO_SUCH_BUCKETLIST) },
      },
    },
    async (request) => bucketlists.listItems(request.user, request.params.id, request.query),
  );

  app.post(
    '/bucketlists/:id/items',
    {
      preValidation: trimTitle,
      schema: {
        tags,
        summary: 'Add an item',
        security,
        params: BucketlistIdParams,
        body: CreateItemBody,
        response: {
          201: created(Type.Ref(ItemSchema), 'The new item'),
          ...problems(...BODY_PROBLEMS, ...TOKEN_PROBLEMS, NO_SUCH_BUCKETLIST),
        },
      },
    },
    async (request, reply) => {
      const item = await bucketlists.createItem(request.user, request.params.id, request.body);
      return reply.code(201).header('location', `/bucketlists/${item.bucketlist_id}/items/${item.id}`).send(item);
    },
  );

  app.patch(
    '/bucketlists/:id/items/:item_id',
    {
      preValidation: trimTitle,
      schema: {
        tags,
        summary: 'Update an item',
        security,
        params: ItemIdParams,
        body: PatchItemBody,
        response: {
          200: Type.Ref(ItemSchema, { description: 'The updated item' }),
          ...problems(...BODY_PROBLEMS, ...TOKEN_PROBLEMS, NO_SUCH_ITEM),
        },
      },
    },
    async (request) => bucketlists.updateItem(request.user, request.params.id, request.params.item_id, request.body),
  );

  app.delete(
    '/bucketlists/:id/items/:item_id',
    {
      schema: {
        tags,
        summary: 'Delete an item',
        security,
        params: ItemIdParams,
        response: { 204: noContent('Item deleted'), ...problems(...TOKEN_PROBLEMS, NO_SUCH_ITEM) },
      },
    },
    async (request, reply) => {
      await bucketlists.deleteItem(request.user, request.params.id, request.params.item_id);
      return reply.code(204).send(null);
    },
  );
};

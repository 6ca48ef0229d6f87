import { type Static, Type } from '@sinclair/typebox';
import { IdParam, PageQuery, pageOf, Timestamp } from '../../lib/http-schemas.js';
import { DescriptionSchema, TitleSchema } from '../books/books.schemas.js';

export const BucketlistSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    owner_id: Type.String(),
    created_at: Timestamp,
    updated_at: Timestamp,
    item_count: Type.Integer({ minimum: 0 }),
  },
  { $id: 'Bucketlist' },
);
export type Bucketlist = Static<typeof BucketlistSchema>;

export const ItemSchema = Type.Object(
  {
    id: Type.String(),
    bucketlist_id: Type.String(),
    title: Type.String(),
    done: Type.Boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'BucketlistItem' },
);
export type Item = Static<typeof ItemSchema>;

export const BucketlistIdParams = Type.Object({ id: IdParam }, { additionalProperties: false });
export const ItemIdParams = Type.Object({ id: IdParam, item_id: IdParam }, { additionalProperties: false });

export const ListBucketlistsQuery = Type.Object(
  { ...PageQuery, q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'name contains, case-insensitive' })) },
  { additionalProperties: false },
);
export type ListBucketlistsQuery = Static<typeof ListBucketlistsQuery>;
export const ListItemsQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export type ListItemsQuery = Static<typeof ListItemsQuery>;

export const BucketlistPage = pageOf(Type.Ref(BucketlistSchema), 'A page of your bucketlists, oldest first');
export const ItemPage = pageOf(Type.Ref(ItemSchema), 'A page of items, oldest first');

export const CreateBucketlistBody = Type.Object(
  { name: TitleSchema, description: Type.Optional(Type.Union([DescriptionSchema, Type.Null()])) },
  { additionalProperties: false, examples: [{ name: 'Before 40', description: 'Things to do' }] },
);
export type CreateBucketlistBody = Static<typeof CreateBucketlistBody>;
export const PatchBucketlistBody = Type.Partial(CreateBucketlistBody, {
  additionalProperties: false,
  minProperties: 1,
  examples: [{ description: 'Things to do before turning 40' }],
});
export type PatchBucketlistBody = Static<typeof PatchBucketlistBody>;

export const CreateItemBody = Type.Object(
  { title: TitleSchema, done: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, examples: [{ title: 'See the northern lights', done: false }] },
);
export type CreateItemBody = Static<typeof CreateItemBody>;
export const PatchItemBody = Type.Partial(CreateItemBody, { additionalProperties: false, minProperties: 1, examples: [{ done: true }] });
export type PatchItemBody = Static<typeof PatchItemBody>;

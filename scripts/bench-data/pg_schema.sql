-- Benchmark target schema (scripts/bench), schema-first like the demo's
-- scripts/demo-data/pg_schema.sql (quoted camelCase identifiers, uuid keys,
-- timestamp(6), boolean, jsonb, native enum types, bytea; callout."framing"
-- is json and callout."publishedDate" timestamptz on purpose) plus the two
-- bench-only tables in_app_notification and message.
--
-- Two sections, split by the line `-- @post-data`:
--   pre-data:  types and tables with their primary keys only;
--   post-data: unique constraints, secondary indexes and foreign keys.
-- The full schema is both sections (what my2pg and pgloader load into);
-- the "PK-only" target ceiling loads after pre-data and then runs post-data.
-- The self-reference is the single line tagged @self-ref; scripts/bench
-- --no-self-ref drops it (here and in mysql_schema.sql).

CREATE TYPE "public"."space_visibility_enum" AS ENUM ('active', 'archived', 'demo');
CREATE TYPE "public"."in_app_notification_type_enum" AS ENUM ('USER_MENTIONED',
  'COLLABORATION_CALLOUT_PUBLISHED', 'COLLABORATION_POST_CREATED',
  'COLLABORATION_POST_COMMENT_CREATED', 'SPACE_COMMUNITY_NEW_MEMBER',
  'SPACE_COMMUNICATION_UPDATE', 'USER_COMMENT_REPLY', 'PLATFORM_FORUM_DISCUSSION_CREATED');
CREATE TYPE "public"."in_app_notification_state_enum" AS ENUM ('unread', 'read', 'archived');
CREATE TYPE "public"."in_app_notification_category_enum" AS ENUM ('self', 'member', 'admin', 'platform');

CREATE TABLE "account" (
  "id" uuid NOT NULL,
  "createdDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "updatedDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "version" integer NOT NULL,
  "type" character varying(128),
  "externalSubscriptionID" character varying(128),
  "baselineLicensePlan" jsonb NOT NULL,
  CONSTRAINT "PK_54115ee388cdb6d86bb4bf5b2ea" PRIMARY KEY ("id")
);

CREATE TABLE "profile" (
  "id" uuid NOT NULL,
  "createdDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "updatedDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "version" integer NOT NULL,
  "displayName" character varying(255) NOT NULL,
  "tagline" character varying(255),
  "description" text,
  "type" character varying(128) NOT NULL,
  CONSTRAINT "PK_3dd8bfc97e4a77c70971591bdcb" PRIMARY KEY ("id")
);

-- Column order deliberately differs from the MySQL table.
CREATE TABLE "user" (
  "id" uuid NOT NULL,
  "nameID" character varying(255) NOT NULL,
  "email" character varying(512) NOT NULL,
  "firstName" character varying(255) NOT NULL,
  "lastName" character varying(255) NOT NULL,
  "phone" character varying(255),
  "serviceProfile" boolean NOT NULL DEFAULT false,
  "communicationID" character varying(255) NOT NULL DEFAULT '',
  "settings" jsonb NOT NULL,
  "profileId" uuid,
  "accountId" uuid,
  "rowId" SERIAL NOT NULL,
  "createdDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "updatedDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "version" integer NOT NULL,
  CONSTRAINT "PK_cace4a159ff9f2512dd42373760" PRIMARY KEY ("id")
);

CREATE TABLE "space" (
  "id" uuid NOT NULL,
  "rowId" SERIAL NOT NULL,
  "createdDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "updatedDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "version" integer NOT NULL,
  "nameID" character varying(36) NOT NULL,
  "level" integer NOT NULL DEFAULT 0,
  "visibility" "public"."space_visibility_enum" NOT NULL DEFAULT 'active',
  "sortOrder" bigint NOT NULL DEFAULT 0,
  "settings" jsonb NOT NULL,
  "profileId" uuid,
  "accountId" uuid,
  CONSTRAINT "PK_094f5ec727fe052956a11623640" PRIMARY KEY ("id")
);

CREATE TABLE "tagset" (
  "id" uuid NOT NULL,
  "createdDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "updatedDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "version" integer NOT NULL,
  "name" character varying(255) NOT NULL DEFAULT 'default',
  "type" character varying(255) NOT NULL DEFAULT 'freeform',
  "tags" text NOT NULL,
  "profileId" uuid,
  CONSTRAINT "PK_eb8ca2d2d0d8a5b1d0e4c76e1d5" PRIMARY KEY ("id")
);

CREATE TABLE "reference" (
  "id" uuid NOT NULL,
  "createdDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "updatedDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "version" integer NOT NULL,
  "name" character varying(255) NOT NULL,
  "uri" text NOT NULL,
  "description" text,
  "profileId" uuid,
  CONSTRAINT "PK_01bacbbdd90839b7dce352e4250" PRIMARY KEY ("id")
);

CREATE TABLE "visual" (
  "id" uuid NOT NULL,
  "createdDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "updatedDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "version" integer NOT NULL,
  "name" character varying(255) NOT NULL,
  "uri" character varying(2048) NOT NULL,
  "minWidth" integer NOT NULL,
  "maxWidth" integer NOT NULL,
  "aspectRatio" real NOT NULL,
  "alternativeText" character varying(120),
  "fileSize" bigint,
  "thumbnail" bytea,
  "profileId" uuid,
  CONSTRAINT "PK_1bcb8a1e1b2d8f0e6c3e1b0a9f4" PRIMARY KEY ("id")
);

CREATE TABLE "callout" (
  "id" uuid NOT NULL,
  "createdDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "updatedDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "version" integer NOT NULL,
  "nameID" character varying(36) NOT NULL,
  "type" character varying(255) NOT NULL,
  "sortOrder" integer NOT NULL,
  "activity" integer NOT NULL DEFAULT 0,
  "isTemplate" boolean NOT NULL DEFAULT false,
  "framing" json,
  "publishedDate" timestamp(6) with time zone,
  "createdBy" uuid,
  "spaceId" uuid,
  CONSTRAINT "PK_b2e8a3f1c6a5d7e9f0b1c2d3e4f" PRIMARY KEY ("id")
);

CREATE TABLE "post" (
  "id" uuid NOT NULL,
  "createdDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "updatedDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "version" integer NOT NULL,
  "nameID" character varying(36) NOT NULL,
  "type" character varying(255) NOT NULL,
  "createdBy" uuid NOT NULL,
  "viewCount" bigint NOT NULL DEFAULT 0,
  "profileId" uuid,
  "calloutId" uuid,
  CONSTRAINT "PK_be5fda3aac270b134ff9c21cdee" PRIMARY KEY ("id")
);

CREATE TABLE "activity" (
  "id" uuid NOT NULL,
  "rowId" SERIAL NOT NULL,
  "createdDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "updatedDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "version" integer NOT NULL,
  "triggeredBy" uuid,
  "collaborationID" uuid,
  "resourceID" uuid NOT NULL,
  "type" character varying(128) NOT NULL,
  "visibility" boolean NOT NULL,
  "description" character varying(512),
  CONSTRAINT "PK_24625a1d6b1b089c8ae206fe467" PRIMARY KEY ("id")
);

CREATE TABLE "in_app_notification" (
  "id" uuid NOT NULL,
  "createdDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "updatedDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "version" integer NOT NULL,
  "type" "public"."in_app_notification_type_enum" NOT NULL,
  "state" "public"."in_app_notification_state_enum" NOT NULL DEFAULT 'unread',
  "category" "public"."in_app_notification_category_enum" NOT NULL,
  "receiverID" uuid NOT NULL,
  "triggeredByID" uuid,
  "triggeredAt" timestamp(6) without time zone NOT NULL,
  "spaceID" uuid,
  "sourceEntityID" uuid,
  "emailSent" boolean NOT NULL DEFAULT false,
  "payload" jsonb NOT NULL,
  CONSTRAINT "PK_in_app_notification" PRIMARY KEY ("id")
);

CREATE TABLE "message" (
  "id" uuid NOT NULL,
  "createdDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "updatedDate" timestamp(6) without time zone NOT NULL DEFAULT now(),
  "version" integer NOT NULL,
  "threadID" uuid NOT NULL,
  "parentId" uuid,
  "senderId" uuid,
  "calloutId" uuid,
  "sortIndex" integer NOT NULL DEFAULT 0,
  "isEdited" boolean NOT NULL DEFAULT false,
  "reactions" jsonb,
  "body" text NOT NULL,
  CONSTRAINT "PK_message" PRIMARY KEY ("id")
);

-- @post-data

-- Unique constraints.
ALTER TABLE "user" ADD CONSTRAINT "UQ_266bc44a18601f893566962df6" UNIQUE ("rowId");
ALTER TABLE "user" ADD CONSTRAINT "UQ_c3f2b1e7a8f4c0d92e1a4b7f55" UNIQUE ("nameID");
ALTER TABLE "user" ADD CONSTRAINT "UQ_e12875dfb3b1d92d7d7c5377e2" UNIQUE ("email");
ALTER TABLE "user" ADD CONSTRAINT "REL_9466682df91534dd95e4dbaa61" UNIQUE ("profileId");
ALTER TABLE "space" ADD CONSTRAINT "UQ_0f03c61020ea0dfa0198c60304" UNIQUE ("rowId");
ALTER TABLE "space" ADD CONSTRAINT "UQ_9d23c0c7a0e6e1fd4d7d9b9e41" UNIQUE ("nameID");
ALTER TABLE "space" ADD CONSTRAINT "REL_ea06eb8894469a0f262d929bf0" UNIQUE ("profileId");
ALTER TABLE "post" ADD CONSTRAINT "REL_390343b22abec869bf80041933" UNIQUE ("profileId");
ALTER TABLE "activity" ADD CONSTRAINT "UQ_07a39cea9426b689be25fd61de" UNIQUE ("rowId");

-- Secondary indexes, as the baseline migration declares them.
CREATE INDEX "IDX_activity_collaborationID_createdDate" ON "activity" ("collaborationID", "createdDate");
CREATE INDEX "IDX_activity_triggeredBy" ON "activity" ("triggeredBy");
CREATE INDEX "IDX_callout_spaceId" ON "callout" ("spaceId");
CREATE INDEX "IDX_post_calloutId" ON "post" ("calloutId");
CREATE INDEX "IDX_tagset_profileId" ON "tagset" ("profileId");
CREATE INDEX "IDX_reference_profileId" ON "reference" ("profileId");
CREATE INDEX "IDX_visual_profileId" ON "visual" ("profileId");
CREATE INDEX "IDX_user_accountId" ON "user" ("accountId");
CREATE INDEX "IDX_profile_displayName_lower" ON "profile" (lower("displayName"));
CREATE INDEX "IDX_notification_receiver_state" ON "in_app_notification" ("receiverID", "state");
CREATE INDEX "IDX_notification_triggeredAt" ON "in_app_notification" ("triggeredAt");
CREATE INDEX "IDX_message_thread" ON "message" ("threadID");
CREATE INDEX "IDX_message_parentId" ON "message" ("parentId");

-- Foreign keys (same DAG as the source, plus message's self-reference).
ALTER TABLE "user" ADD CONSTRAINT "FK_9466682df91534dd95e4dbaa616"
  FOREIGN KEY ("profileId") REFERENCES "profile"("id") ON DELETE SET NULL ON UPDATE NO ACTION;
ALTER TABLE "user" ADD CONSTRAINT "FK_bd1d04f8f5b1b3d2a0a8e5c6e1a"
  FOREIGN KEY ("accountId") REFERENCES "account"("id") ON DELETE SET NULL ON UPDATE NO ACTION;
ALTER TABLE "space" ADD CONSTRAINT "FK_ea06eb8894469a0f262d929bf06"
  FOREIGN KEY ("profileId") REFERENCES "profile"("id") ON DELETE SET NULL ON UPDATE NO ACTION;
ALTER TABLE "space" ADD CONSTRAINT "FK_6bdeffaf6ea6159b4672a2aed70"
  FOREIGN KEY ("accountId") REFERENCES "account"("id") ON DELETE SET NULL ON UPDATE NO ACTION;
ALTER TABLE "tagset" ADD CONSTRAINT "FK_81fc213b2d9ad0cddeab1a9ce64"
  FOREIGN KEY ("profileId") REFERENCES "profile"("id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "reference" ADD CONSTRAINT "FK_2f46c698fc4c19a8cc233c5f255"
  FOREIGN KEY ("profileId") REFERENCES "profile"("id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "visual" ADD CONSTRAINT "FK_4fbd109f9bc84f8a3f4c9e8a1c2"
  FOREIGN KEY ("profileId") REFERENCES "profile"("id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "callout" ADD CONSTRAINT "FK_62ed316cda7b75735b20307b47e"
  FOREIGN KEY ("spaceId") REFERENCES "space"("id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "post" ADD CONSTRAINT "FK_390343b22abec869bf800419333"
  FOREIGN KEY ("profileId") REFERENCES "profile"("id") ON DELETE SET NULL ON UPDATE NO ACTION;
ALTER TABLE "post" ADD CONSTRAINT "FK_e4a3f1cd3b1e4a1a0d6c4d5b2a1"
  FOREIGN KEY ("calloutId") REFERENCES "callout"("id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "activity" ADD CONSTRAINT "FK_b5a4f1f2c0e1c2c4b8f3a1d7e90"
  FOREIGN KEY ("triggeredBy") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE NO ACTION;
ALTER TABLE "activity" ADD CONSTRAINT "FK_c9a1d8e7b6f5a4c3d2e1f0a9b87"
  FOREIGN KEY ("collaborationID") REFERENCES "space"("id") ON DELETE SET NULL ON UPDATE NO ACTION;
ALTER TABLE "in_app_notification" ADD CONSTRAINT "FK_notification_receiver"
  FOREIGN KEY ("receiverID") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "in_app_notification" ADD CONSTRAINT "FK_notification_triggeredBy"
  FOREIGN KEY ("triggeredByID") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE NO ACTION;
ALTER TABLE "in_app_notification" ADD CONSTRAINT "FK_notification_space"
  FOREIGN KEY ("spaceID") REFERENCES "space"("id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "message" ADD CONSTRAINT "FK_message_sender"
  FOREIGN KEY ("senderId") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE NO ACTION;
ALTER TABLE "message" ADD CONSTRAINT "FK_message_callout"
  FOREIGN KEY ("calloutId") REFERENCES "callout"("id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "message" ADD CONSTRAINT "FK_message_parent" FOREIGN KEY ("parentId") REFERENCES "message"("id") ON DELETE CASCADE ON UPDATE NO ACTION; -- @self-ref

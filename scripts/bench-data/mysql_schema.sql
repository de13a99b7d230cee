-- Benchmark source schema (scripts/bench): the demo's Alkemio-shaped tables
-- (copied from scripts/demo-data/mysql_schema.sql, without the source-only
-- migrations_typeorm / legacy_audit) plus two bench-only tables:
-- in_app_notification (wide, ~3 KB JSON per row, enums) and message (wide,
-- multi-KB markdown, self-referencing parentId).
--
-- The self-reference is the single line tagged @self-ref below; scripts/bench
-- --no-self-ref drops that line (here and in pg_schema.sql).
--
-- Column order must match scripts/bench-data/generate.py (TABLES).
SET NAMES utf8mb4;
SET foreign_key_checks = 0;

CREATE TABLE `account` (
  `id` char(36) NOT NULL,
  `createdDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updatedDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `version` int NOT NULL,
  `type` varchar(128) NULL,
  `externalSubscriptionID` varchar(128) NULL,
  `baselineLicensePlan` json NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `profile` (
  `id` char(36) NOT NULL,
  `createdDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updatedDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `version` int NOT NULL,
  `displayName` varchar(255) NOT NULL,
  `tagline` varchar(255) NULL,
  `description` text NULL,
  `type` varchar(128) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `user` (
  `id` char(36) NOT NULL,
  `rowId` int NOT NULL AUTO_INCREMENT,
  `createdDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updatedDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `version` int NOT NULL,
  `nameID` varchar(255) NOT NULL,
  `firstName` varchar(255) NOT NULL,
  `lastName` varchar(255) NOT NULL,
  `email` varchar(512) NOT NULL,
  `phone` varchar(255) NULL,
  `serviceProfile` tinyint(1) NOT NULL DEFAULT 0,
  `communicationID` varchar(255) NOT NULL DEFAULT '',
  `settings` json NOT NULL,
  `profileId` char(36) NULL,
  `accountId` char(36) NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `IDX_266bc44a18601f893566962df6` (`rowId`),
  UNIQUE KEY `IDX_c3f2b1e7a8f4c0d92e1a4b7f55` (`nameID`),
  UNIQUE KEY `IDX_e12875dfb3b1d92d7d7c5377e2` (`email`),
  UNIQUE KEY `REL_9466682df91534dd95e4dbaa61` (`profileId`),
  KEY `FK_bd1d04f8f5b1b3d2a0a8e5c6e1` (`accountId`),
  CONSTRAINT `FK_9466682df91534dd95e4dbaa616` FOREIGN KEY (`profileId`) REFERENCES `profile` (`id`) ON DELETE SET NULL ON UPDATE NO ACTION,
  CONSTRAINT `FK_bd1d04f8f5b1b3d2a0a8e5c6e1a` FOREIGN KEY (`accountId`) REFERENCES `account` (`id`) ON DELETE SET NULL ON UPDATE NO ACTION
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `space` (
  `id` char(36) NOT NULL,
  `rowId` int NOT NULL AUTO_INCREMENT,
  `createdDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updatedDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `version` int NOT NULL,
  `nameID` varchar(36) NOT NULL,
  `level` int NOT NULL DEFAULT 0,
  `visibility` enum('active','archived','demo') NOT NULL DEFAULT 'active',
  `sortOrder` int unsigned NOT NULL DEFAULT 0,
  `settings` json NOT NULL,
  `profileId` char(36) NULL,
  `accountId` char(36) NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `IDX_0f03c61020ea0dfa0198c60304` (`rowId`),
  UNIQUE KEY `IDX_9d23c0c7a0e6e1fd4d7d9b9e41` (`nameID`),
  UNIQUE KEY `REL_ea06eb8894469a0f262d929bf0` (`profileId`),
  KEY `FK_6bdeffaf6ea6159b4672a2aed70` (`accountId`),
  CONSTRAINT `FK_ea06eb8894469a0f262d929bf06` FOREIGN KEY (`profileId`) REFERENCES `profile` (`id`) ON DELETE SET NULL ON UPDATE NO ACTION,
  CONSTRAINT `FK_6bdeffaf6ea6159b4672a2aed70` FOREIGN KEY (`accountId`) REFERENCES `account` (`id`) ON DELETE SET NULL ON UPDATE NO ACTION
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `tagset` (
  `id` char(36) NOT NULL,
  `createdDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updatedDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `version` int NOT NULL,
  `name` varchar(255) NOT NULL DEFAULT 'default',
  `type` varchar(255) NOT NULL DEFAULT 'freeform',
  `tags` text NOT NULL,
  `profileId` char(36) NULL,
  PRIMARY KEY (`id`),
  KEY `FK_81fc213b2d9ad0cddeab1a9ce64` (`profileId`),
  CONSTRAINT `FK_81fc213b2d9ad0cddeab1a9ce64` FOREIGN KEY (`profileId`) REFERENCES `profile` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `reference` (
  `id` char(36) NOT NULL,
  `createdDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updatedDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `version` int NOT NULL,
  `name` varchar(255) NOT NULL,
  `uri` text NOT NULL,
  `description` text NULL,
  `profileId` char(36) NULL,
  PRIMARY KEY (`id`),
  KEY `FK_2f46c698fc4c19a8cc233c5f255` (`profileId`),
  CONSTRAINT `FK_2f46c698fc4c19a8cc233c5f255` FOREIGN KEY (`profileId`) REFERENCES `profile` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `visual` (
  `id` char(36) NOT NULL,
  `createdDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updatedDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `version` int NOT NULL,
  `name` varchar(255) NOT NULL,
  `uri` varchar(2048) NOT NULL,
  `minWidth` int NOT NULL,
  `maxWidth` int NOT NULL,
  `aspectRatio` float NOT NULL,
  `alternativeText` varchar(120) NULL,
  `fileSize` bigint NULL,
  `thumbnail` blob NULL,
  `profileId` char(36) NULL,
  PRIMARY KEY (`id`),
  KEY `FK_4fbd109f9bc84f8a3f4c9e8a1c2` (`profileId`),
  CONSTRAINT `FK_4fbd109f9bc84f8a3f4c9e8a1c2` FOREIGN KEY (`profileId`) REFERENCES `profile` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `callout` (
  `id` char(36) NOT NULL,
  `createdDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updatedDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `version` int NOT NULL,
  `nameID` varchar(36) NOT NULL,
  `type` varchar(255) NOT NULL,
  `sortOrder` int NOT NULL,
  `activity` int NOT NULL DEFAULT 0,
  `isTemplate` tinyint(1) NOT NULL DEFAULT 0,
  `framing` json NULL,
  `publishedDate` datetime(6) NULL,
  `createdBy` char(36) NULL,
  `spaceId` char(36) NULL,
  PRIMARY KEY (`id`),
  KEY `FK_62ed316cda7b75735b20307b47e` (`spaceId`),
  CONSTRAINT `FK_62ed316cda7b75735b20307b47e` FOREIGN KEY (`spaceId`) REFERENCES `space` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `post` (
  `id` char(36) NOT NULL,
  `createdDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updatedDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `version` int NOT NULL,
  `nameID` varchar(36) NOT NULL,
  `type` varchar(255) NOT NULL,
  `createdBy` char(36) NOT NULL,
  `viewCount` int unsigned NOT NULL DEFAULT 0,
  `profileId` char(36) NULL,
  `calloutId` char(36) NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `REL_390343b22abec869bf80041933` (`profileId`),
  KEY `FK_e4a3f1cd3b1e4a1a0d6c4d5b2a1` (`calloutId`),
  CONSTRAINT `FK_390343b22abec869bf800419333` FOREIGN KEY (`profileId`) REFERENCES `profile` (`id`) ON DELETE SET NULL ON UPDATE NO ACTION,
  CONSTRAINT `FK_e4a3f1cd3b1e4a1a0d6c4d5b2a1` FOREIGN KEY (`calloutId`) REFERENCES `callout` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The big narrow table (most of the rows).
CREATE TABLE `activity` (
  `id` char(36) NOT NULL,
  `rowId` int NOT NULL AUTO_INCREMENT,
  `createdDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updatedDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `version` int NOT NULL,
  `triggeredBy` char(36) NULL,
  `collaborationID` char(36) NULL,
  `resourceID` char(36) NOT NULL,
  `type` varchar(128) NOT NULL,
  `visibility` tinyint(1) NOT NULL,
  `description` varchar(512) NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `IDX_07a39cea9426b689be25fd61de` (`rowId`),
  KEY `FK_b5a4f1f2c0e1c2c4b8f3a1d7e90` (`triggeredBy`),
  KEY `FK_c9a1d8e7b6f5a4c3d2e1f0a9b87` (`collaborationID`),
  CONSTRAINT `FK_b5a4f1f2c0e1c2c4b8f3a1d7e90` FOREIGN KEY (`triggeredBy`) REFERENCES `user` (`id`) ON DELETE SET NULL ON UPDATE NO ACTION,
  CONSTRAINT `FK_c9a1d8e7b6f5a4c3d2e1f0a9b87` FOREIGN KEY (`collaborationID`) REFERENCES `space` (`id`) ON DELETE SET NULL ON UPDATE NO ACTION
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `in_app_notification` (
  `id` char(36) NOT NULL,
  `createdDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updatedDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `version` int NOT NULL,
  `type` enum('USER_MENTIONED','COLLABORATION_CALLOUT_PUBLISHED','COLLABORATION_POST_CREATED','COLLABORATION_POST_COMMENT_CREATED','SPACE_COMMUNITY_NEW_MEMBER','SPACE_COMMUNICATION_UPDATE','USER_COMMENT_REPLY','PLATFORM_FORUM_DISCUSSION_CREATED') NOT NULL,
  `state` enum('unread','read','archived') NOT NULL DEFAULT 'unread',
  `category` enum('self','member','admin','platform') NOT NULL,
  `receiverID` char(36) NOT NULL,
  `triggeredByID` char(36) NULL,
  `triggeredAt` datetime(6) NOT NULL,
  `spaceID` char(36) NULL,
  `sourceEntityID` char(36) NULL,
  `emailSent` tinyint(1) NOT NULL DEFAULT 0,
  `payload` json NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_notification_receiver_state` (`receiverID`, `state`),
  KEY `FK_notification_triggeredBy` (`triggeredByID`),
  KEY `FK_notification_space` (`spaceID`),
  CONSTRAINT `FK_notification_receiver` FOREIGN KEY (`receiverID`) REFERENCES `user` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION,
  CONSTRAINT `FK_notification_triggeredBy` FOREIGN KEY (`triggeredByID`) REFERENCES `user` (`id`) ON DELETE SET NULL ON UPDATE NO ACTION,
  CONSTRAINT `FK_notification_space` FOREIGN KEY (`spaceID`) REFERENCES `space` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `message` (
  `id` char(36) NOT NULL,
  `createdDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updatedDate` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  `version` int NOT NULL,
  `threadID` char(36) NOT NULL,
  `parentId` char(36) NULL,
  `senderId` char(36) NULL,
  `calloutId` char(36) NULL,
  `sortIndex` int NOT NULL DEFAULT 0,
  `isEdited` tinyint(1) NOT NULL DEFAULT 0,
  `reactions` json NULL,
  `body` mediumtext NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_message_thread` (`threadID`),
  KEY `FK_message_parent` (`parentId`),
  KEY `FK_message_sender` (`senderId`),
  KEY `FK_message_callout` (`calloutId`),
  CONSTRAINT `FK_message_sender` FOREIGN KEY (`senderId`) REFERENCES `user` (`id`) ON DELETE SET NULL ON UPDATE NO ACTION,
  CONSTRAINT `FK_message_callout` FOREIGN KEY (`calloutId`) REFERENCES `callout` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE `message` ADD CONSTRAINT `FK_message_parent` FOREIGN KEY (`parentId`) REFERENCES `message` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION; -- @self-ref

SET foreign_key_checks = 1;

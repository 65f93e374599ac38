CREATE TABLE `rate_limits` (
	`key` text PRIMARY KEY NOT NULL,
	`points` integer DEFAULT 0 NOT NULL,
	`expire` integer
);
--> statement-breakpoint
CREATE INDEX `rate_limits_expire_idx` ON `rate_limits` (`expire`);--> statement-breakpoint
ALTER TABLE `refresh_tokens` ADD `family_hash` text;--> statement-breakpoint
ALTER TABLE `refresh_tokens` ADD `credential_version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `refresh_tokens_family_hash_idx` ON `refresh_tokens` (`family_hash`);--> statement-breakpoint
-- Families that exist already belong to the member's current credentials: nothing has ended them.
UPDATE `refresh_tokens` SET `credential_version` = (SELECT `token_version` FROM `members` WHERE `members`.`id` = `refresh_tokens`.`member_id`);--> statement-breakpoint
-- Session ids are stored hashed from now on; rows holding a raw id can never be found again, so they go (every
-- browser session signs in once more).
DELETE FROM `sessions`;

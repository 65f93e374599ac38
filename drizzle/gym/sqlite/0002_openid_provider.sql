CREATE TABLE `oidc_records` (
	`key` text PRIMARY KEY NOT NULL,
	`model` text NOT NULL,
	`payload` text NOT NULL,
	`member_id` integer,
	`grant_id` text,
	`uid` text,
	`user_code` text,
	`expires_at` integer,
	`consumed_at` integer,
	FOREIGN KEY (`member_id`) REFERENCES `members`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `oidc_records_grant_id_idx` ON `oidc_records` (`grant_id`);--> statement-breakpoint
CREATE INDEX `oidc_records_uid_idx` ON `oidc_records` (`uid`);--> statement-breakpoint
CREATE INDEX `oidc_records_member_id_idx` ON `oidc_records` (`member_id`);--> statement-breakpoint
CREATE INDEX `oidc_records_expires_at_idx` ON `oidc_records` (`expires_at`);
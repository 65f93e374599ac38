CREATE TABLE `visits` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`subject` text NOT NULL,
	`name` text NOT NULL,
	`admitted_at` integer NOT NULL,
	`token_id` text
);
--> statement-breakpoint
CREATE INDEX `visits_subject_idx` ON `visits` (`subject`,`id`);
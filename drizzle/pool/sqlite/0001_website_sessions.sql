CREATE TABLE `sessions` (
	`sid` text PRIMARY KEY NOT NULL,
	`subject` text,
	`data` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sessions_expires_at_idx` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE INDEX `sessions_subject_idx` ON `sessions` (`subject`);
CREATE TABLE "oidc_records" (
	"key" text PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"payload" text NOT NULL,
	"member_id" integer,
	"grant_id" text,
	"uid" text,
	"user_code" text,
	"expires_at" bigint,
	"consumed_at" bigint
);
--> statement-breakpoint
ALTER TABLE "oidc_records" ADD CONSTRAINT "oidc_records_member_id_members_id_fk" FOREIGN KEY ("member_id") REFERENCES "public"."members"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "oidc_records_grant_id_idx" ON "oidc_records" USING btree ("grant_id");--> statement-breakpoint
CREATE INDEX "oidc_records_uid_idx" ON "oidc_records" USING btree ("uid");--> statement-breakpoint
CREATE INDEX "oidc_records_member_id_idx" ON "oidc_records" USING btree ("member_id");--> statement-breakpoint
CREATE INDEX "oidc_records_expires_at_idx" ON "oidc_records" USING btree ("expires_at");
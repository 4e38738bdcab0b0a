CREATE TABLE `destinations` (
	`id` text PRIMARY KEY NOT NULL,
	`uri` text NOT NULL,
	`set_name` text NOT NULL,
	`weight` integer DEFAULT 1 NOT NULL,
	`priority` integer DEFAULT 0 NOT NULL,
	`resources` text DEFAULT '{}' NOT NULL,
	`max_calls` integer,
	`probe` text,
	`attributes` text DEFAULT '{}' NOT NULL,
	`state` text DEFAULT 'active' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`set_name`) REFERENCES `sets`(`name`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "destinations_weight" CHECK("destinations"."weight" >= 0),
	CONSTRAINT "destinations_max_calls" CHECK("destinations"."max_calls" is null or "destinations"."max_calls" >= 0),
	CONSTRAINT "destinations_state" CHECK("destinations"."state" in ('active', 'disabled', 'draining'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `destinations_uri_unique` ON `destinations` (`uri`);--> statement-breakpoint
CREATE INDEX `destinations_set_name` ON `destinations` (`set_name`);--> statement-breakpoint
CREATE TABLE `rules` (
	`id` text PRIMARY KEY NOT NULL,
	`priority` integer DEFAULT 100 NOT NULL,
	`match` text DEFAULT '{}' NOT NULL,
	`set_name` text NOT NULL,
	`resources` text DEFAULT '{"calls":1}' NOT NULL,
	`reply_no_match` integer,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`set_name`) REFERENCES `sets`(`name`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "rules_reply_no_match" CHECK("rules"."reply_no_match" is null or ("rules"."reply_no_match" between 300 and 699))
);
--> statement-breakpoint
CREATE INDEX `rules_priority` ON `rules` (`priority`);--> statement-breakpoint
CREATE INDEX `rules_set_name` ON `rules` (`set_name`);--> statement-breakpoint
CREATE TABLE `sets` (
	`name` text PRIMARY KEY NOT NULL,
	`algorithm` text DEFAULT 'round-robin' NOT NULL,
	`hash_key` text DEFAULT 'call-id' NOT NULL,
	`resources` text DEFAULT '["calls"]' NOT NULL,
	`relative` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "sets_algorithm" CHECK("sets"."algorithm" in ('round-robin', 'weighted-round-robin', 'weighted-random', 'hash', 'priority', 'least-loaded', 'call-load')),
	CONSTRAINT "sets_hash_key" CHECK("sets"."hash_key" in ('call-id', 'from-uri', 'to-uri', 'request-uri', 'source'))
);

/** Read and validate a JSON request body; a 400 lists every bad field at once. */
import type { Context } from "hono";
import * as v from "valibot";
import { describeIssues } from "../src/events/route.ts";

export type BodyResult<T> = { ok: true; value: T } | { ok: false; response: Response };

export async function validBody<S extends v.GenericSchema>(c: Context, schema: S): Promise<BodyResult<v.InferOutput<S>>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return { ok: false, response: c.json({ error: "body must be JSON", issues: ["body: not valid JSON"] }, 400) };
  }
  const parsed = v.safeParse(schema, body);
  if (!parsed.success) return { ok: false, response: c.json({ error: "invalid body", issues: describeIssues(parsed.issues) }, 400) };
  return { ok: true, value: parsed.output };
}

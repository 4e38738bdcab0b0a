/**
 * An object schema that reports every unknown key ("colour: unknown field"), each with its path, alongside the
 * other issues: valibot's strictObject stops at the first one, and a 400 must list every bad field.
 *
 * Typed as the plain object schema of the same entries (what it accepts and returns); at run time it is valibot's
 * objectWithRest with a `never` rest.
 */
import * as v from "valibot";

export function strictObject<const E extends v.ObjectEntries>(entries: E): v.ObjectSchema<E, undefined> {
  return v.objectWithRest(entries, v.never("unknown field")) as unknown as v.ObjectSchema<E, undefined>;
}

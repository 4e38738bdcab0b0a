/**
 * Header section splitting (RFC 3261 §7.3): one pass over the decoded header lines producing HeaderFields (canonical
 * name, unfolded value, exact raw text) and noting the fields a proxy needs, so nothing is searched twice.
 */
import type { HeaderField } from "./message.ts";
import { CR, HT, SP, isTokenChar, isWsp } from "./chars.ts";
import { canonicalHeaderNameAt } from "./header-values.ts";

/** Header fields a proxy needs, located during the single pass over the header section. */
export interface Essentials {
  via: HeaderField[];
  from?: HeaderField;
  to?: HeaderField;
  callId?: HeaderField;
  cseq?: HeaderField;
  contentLength?: HeaderField;
  maxForwards?: HeaderField;
  /** Canonical name of the first single-value header repeated with a different value. */
  duplicate?: string;
  /** First syntactically broken header line. */
  lineError?: string;
}

/**
 * Splits head[pos..] (header lines, no empty line) into fields, unfolding continuation lines (§7.3.1), and records
 * the essentials. Line ends may be CRLF or bare LF; a bare CR inside a line is rejected (it would be a line break to
 * some downstream parsers: smuggling risk).
 */
export function scanFields(head: string, pos: number, ess: Essentials): HeaderField[] {
  const fields: HeaderField[] = [];
  const end = head.length;
  let fStart = -1;
  let fEnd = -1;
  let folded = false;
  let nextCr = -2; // cached position of the next CR at or after pos; -1 = none left
  while (pos < end) {
    let nl = head.indexOf("\n", pos);
    const next = nl < 0 ? end : nl + 1;
    if (nl < 0) nl = end;
    const lineEnd = nl > pos && head.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    if (nextCr !== -1 && nextCr < pos) nextCr = head.indexOf("\r", pos);
    if (nextCr >= 0 && nextCr < lineEnd) ess.lineError ??= "Bad Header Line";
    const c = head.charCodeAt(pos);
    if (c === SP || c === HT) {
      if (fStart < 0) ess.lineError ??= "Bad Header Folding";
      else {
        fEnd = lineEnd;
        folded = true;
      }
    } else if (lineEnd > pos) {
      if (fStart >= 0) addField(head, fStart, fEnd, folded, fields, ess);
      fStart = pos;
      fEnd = lineEnd;
      folded = false;
    }
    pos = next;
  }
  if (fStart >= 0) addField(head, fStart, fEnd, folded, fields, ess);
  return fields;
}

function addField(
  head: string,
  start: number,
  end: number,
  folded: boolean,
  fields: HeaderField[],
  ess: Essentials,
): void {
  let i = start;
  while (i < end && isTokenChar(head.charCodeAt(i))) i++;
  const nameEnd = i;
  while (i < end && isWsp(head.charCodeAt(i))) i++;
  if (nameEnd === start || i >= end || head.charCodeAt(i) !== 0x3a) {
    ess.lineError ??= "Bad Header Line";
    return;
  }
  const name = canonicalHeaderNameAt(head, start, nameEnd);
  const value = folded ? unfold(head, i + 1, end) : trimmedSlice(head, i + 1, end);
  const field: HeaderField = { name, value, raw: head.slice(start, end) };
  fields.push(field);
  // One case per field: a store to a property named by a variable (ess[key]) is a keyed store V8 cannot specialise.
  switch (name) {
    case "via":
      ess.via.push(field);
      break;
    case "from":
      ess.from = first(ess.from, field, ess);
      break;
    case "to":
      ess.to = first(ess.to, field, ess);
      break;
    case "call-id":
      ess.callId = first(ess.callId, field, ess);
      break;
    case "cseq":
      ess.cseq = first(ess.cseq, field, ess);
      break;
    case "content-length":
      ess.contentLength = first(ess.contentLength, field, ess);
      break;
    case "max-forwards":
      ess.maxForwards = first(ess.maxForwards, field, ess);
      break;
  }
}

/** The first of a single-value field is the one used; a repeat with another value is noted (§7.3.1, §20). */
function first(prev: HeaderField | undefined, field: HeaderField, ess: Essentials): HeaderField {
  if (prev === undefined) return field;
  if (prev.value !== field.value) ess.duplicate ??= field.name;
  return prev;
}

function trimmedSlice(s: string, a: number, b: number): string {
  while (a < b && isWsp(s.charCodeAt(a))) a++;
  while (b > a && isWsp(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/** §7.3.1: each line break plus surrounding whitespace becomes a single SP. */
function unfold(s: string, a: number, b: number): string {
  let out = "";
  while (a < b) {
    let nl = s.indexOf("\n", a);
    if (nl < 0 || nl > b) nl = b;
    const seg = trimmedSlice(s, a, nl > a && s.charCodeAt(nl - 1) === CR ? nl - 1 : nl);
    if (seg !== "") out = out === "" ? seg : `${out} ${seg}`;
    a = nl + 1;
  }
  return out;
}


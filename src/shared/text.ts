/** `text` cut to its first `max` characters, marked with an ellipsis when cut: for client-chosen strings in logs and messages. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

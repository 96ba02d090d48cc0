// What a read-token session sees in place of an admin-only part of a page.

export function AdminOnlyNote({ what }: { what: string }) {
  return (
    <p class="note" data-testid="admin-only">
      {what} needs the admin token; this session signed in with the read token.
    </p>
  );
}

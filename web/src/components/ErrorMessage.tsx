// An API error or a refusal, announced to screen readers as it appears.

export function ErrorMessage({ error, testId }: { error: string | null | undefined; testId?: string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert" data-testid={testId}>
      {error}
    </p>
  );
}

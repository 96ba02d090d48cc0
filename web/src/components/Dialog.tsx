// A modal confirmation dialog on the native <dialog> element.
//
// showModal() makes the rest of the page inert and keeps focus inside; Escape closes it (the
// "cancel" event). When it opens, focus goes to the control marked autofocus (the safe choice,
// such as Cancel), wherever it is in the dialog, else to its first control; when it closes, back
// to the element that had it.

import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

export interface DialogProps {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  testId?: string;
}

export function Dialog({ open, title, onClose, children, testId }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  const titleId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      opener.current = document.activeElement;
      dialog.showModal();
      // Two queries: one selector list would answer whichever matching element comes first in
      // the document, autofocus or not.
      const intended = dialog.querySelector<HTMLElement>('[autofocus]')
        ?? dialog.querySelector<HTMLElement>('button, input, textarea, select, [tabindex]:not([tabindex="-1"])');
      intended?.focus();
    } else if (!open && dialog.open) {
      dialog.close();
    }
  }, [open]);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const closed = () => {
      const previous = opener.current;
      if (previous instanceof HTMLElement && previous.isConnected) previous.focus();
      onClose();
    };
    dialog.addEventListener('close', closed);
    return () => dialog.removeEventListener('close', closed);
  }, [onClose]);

  return (
    <dialog ref={ref} class="dialog" aria-labelledby={titleId} data-testid={testId}>
      <h2 id={titleId}>{title}</h2>
      {open ? children : null}
    </dialog>
  );
}

// A modal <dialog> that answers once: the confirmation dialog of the console and the step-up
// dialog of both pages go through here, so they behave alike for a keyboard user.

/** What a dialog's form does on submit: `finish(value)` closes the dialog with that answer; else it stays open. */
export type SubmitHandler<T> = (finish: (value: T) => void) => void | Promise<void>;

/**
 * Opens `dialog` as a modal (the rest of the page inert) with the focus on `initialFocus`, and
 * resolves with the value passed to `finish`, or with `cancelled` when the person presses the
 * cancel button or Escape. On close the focus goes back to the control that opened it, which
 * Chromium does by itself but not every browser does.
 */
export function openModal<T>(options: {
  dialog: HTMLDialogElement;
  form: HTMLFormElement;
  cancel: HTMLButtonElement;
  initialFocus: HTMLElement;
  cancelled: T;
  onSubmit: SubmitHandler<T>;
}): Promise<T> {
  const { dialog, form, cancel, initialFocus, cancelled, onSubmit } = options;
  const opener = document.activeElement;
  return new Promise<T>((resolve) => {
    let open = true;
    const finish = (value: T) => {
      if (!open) return;
      open = false;
      form.removeEventListener('submit', submitted);
      cancel.removeEventListener('click', cancelledByButton);
      dialog.removeEventListener('cancel', cancelledByEscape);
      dialog.close();
      if (opener instanceof HTMLElement && opener !== document.body && opener.isConnected) opener.focus();
      resolve(value);
    };
    const submitted = (event: SubmitEvent) => {
      // method="dialog" would close the dialog before the answer is known.
      event.preventDefault();
      void onSubmit(finish);
    };
    const cancelledByButton = () => finish(cancelled);
    // Escape fires `cancel`; the dialog is closed through finish(), so the listeners go too.
    const cancelledByEscape = (event: Event) => {
      event.preventDefault();
      finish(cancelled);
    };
    form.addEventListener('submit', submitted);
    cancel.addEventListener('click', cancelledByButton);
    dialog.addEventListener('cancel', cancelledByEscape);
    dialog.showModal();
    initialFocus.focus();
  });
}

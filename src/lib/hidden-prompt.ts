import { emitKeypressEvents, type Key } from 'node:readline';

/** The person at the terminal pressed Ctrl-C (or Ctrl-D on an empty line) at a prompt. */
export class PromptAbortedError extends Error {
  constructor() {
    super('aborted at the prompt');
    this.name = 'PromptAbortedError';
  }
}

// Control characters (C0, DEL, C1) never become part of the answer: they come from keys such as
// arrows or Tab, whose escape sequences would otherwise end up inside a password.
const CONTROL = /\p{Cc}/u;

/**
 * Asks `question` on a terminal and reads one line without echoing it. The terminal goes into
 * raw mode, so nothing the person types is shown, and Ctrl-C reaches us as a key (not SIGINT):
 * the terminal is restored before the promise settles, in every case.
 */
export function readHiddenLine(question: string, input: NodeJS.ReadStream, output: NodeJS.WritableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const typed: string[] = [];
    const wasRaw = input.isRaw;
    emitKeypressEvents(input);
    // Raw mode before the question: a key typed as soon as the question shows is not echoed.
    input.setRawMode(true);
    input.resume();
    output.write(question);

    const finish = () => {
      input.off('keypress', onKeypress);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
    };
    const onKeypress = (text: string | undefined, key: Key | undefined) => {
      if (key?.ctrl && (key.name === 'c' || (key.name === 'd' && typed.length === 0))) {
        finish();
        reject(new PromptAbortedError());
      } else if (key?.name === 'return' || key?.name === 'enter') {
        finish();
        resolve(typed.join(''));
      } else if (key?.name === 'backspace') {
        typed.pop();
      } else if (key?.ctrl && key.name === 'u') {
        typed.length = 0;
      } else if (text !== undefined && !key?.ctrl && !key?.meta && !CONTROL.test(text)) {
        typed.push(text);
      }
    };
    input.on('keypress', onKeypress);
  });
}

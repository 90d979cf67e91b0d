import type {
  BrowserSession,
  RampartBrowserClient,
} from '../../../../../src/client/browser/index.js';
import { h } from '../dom.js';
import { loginNoticeFor, type Notice } from '../messages.js';

/** Page services the sign-in view uses. */
export interface LoginContext {
  client: RampartBrowserClient;
  render(...children: Node[]): void;
  notify(notice: Notice | undefined): void;
  onSignedIn(session: BrowserSession): void;
}

/** Shows the sign-in form; a successful sign-in hands the session to `onSignedIn`. */
export function renderLogin(context: LoginContext): void {
  const username = h('input', {
    attrs: {
      id: 'username',
      name: 'username',
      autocomplete: 'username',
      required: true,
      maxlength: '128',
      autocapitalize: 'none',
      spellcheck: 'false',
    },
  });
  const password = h('input', {
    attrs: {
      id: 'password',
      name: 'password',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
      maxlength: '1024',
    },
  });
  const submit = h('button', { class: 'button', text: 'Sign in', attrs: { type: 'submit' } });

  const form = h(
    'form',
    { class: 'card login', attrs: { method: 'post', 'aria-labelledby': 'login-title' } },
    [
      h('h1', { text: 'Sign in', attrs: { id: 'login-title', tabindex: '-1' } }),
      h('div', { class: 'field' }, [
        h('label', { text: 'Username', attrs: { for: 'username' } }),
        username,
      ]),
      h('div', { class: 'field' }, [
        h('label', { text: 'Password', attrs: { for: 'password' } }),
        password,
      ]),
      submit,
      h('p', {
        class: 'hint',
        text: 'Demo users and their passwords are listed in the README.',
      }),
    ],
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    context.client
      .login(username.value.trim(), password.value)
      .then((session) => context.onSignedIn(session))
      .catch((error: unknown) => {
        context.notify(loginNoticeFor(error));
        password.value = '';
        password.focus();
      })
      .finally(() => {
        submit.disabled = false;
        submit.textContent = 'Sign in';
      });
  });

  context.render(form);
  username.focus();
}

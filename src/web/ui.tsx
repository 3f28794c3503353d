/** Small shared pieces: the language context, an error as a sentence, a progress bar. */
import { createContext, useContext } from 'react';
import { type ApiErrorLike, type Lang, type MessageKey, errorSentence, translate } from './i18n.ts';

export interface LangValue {
  lang: Lang;
  t: (key: MessageKey, params?: Record<string, string | number>) => string;
}

export const LangContext = createContext<LangValue>({ lang: 'en', t: (k, p) => translate('en', k, p) });

export function useLang(): LangValue {
  return useContext(LangContext);
}

/** An error shown as a sentence in the current language, with the registration link when there is one. */
export function ErrorText({ error, fileName, testId = 'error-message' }: { error: ApiErrorLike; fileName?: string; testId?: string }) {
  const { lang, t } = useLang();
  const s = errorSentence(error, lang, fileName);
  return (
    <p className="error" role="alert" data-testid={testId} data-code={error.code}>
      {s.text}
      {s.registerUrl ? (
        <>
          {' '}
          <a data-testid="register-link" href={s.registerUrl}>
            {t('register')}
          </a>
        </>
      ) : null}
    </p>
  );
}

export function ProgressBar({ value, label, testId }: { value: number; label: string; testId?: string }) {
  const v = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={v} aria-label={label} data-testid={testId}>
      <div className="progress-fill" style={{ width: `${v}%` }} />
      <span className="progress-text">{label}</span>
    </div>
  );
}

/** 1536 → "1.5 kB", 5 242 880 → "5.0 MB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

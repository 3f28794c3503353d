/** Entry point: the app inside an error boundary, so a fault shows a sentence, never a blank page. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { store } from './api.ts';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { initialLang, translate } from './i18n.ts';
import { LangContext } from './ui.tsx';
import './styles.css';

const lang = initialLang(store.get('vidscribe.lang'), navigator.language);
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <LangContext.Provider value={{ lang, t: (k, p) => translate(lang, k, p) }}>
        <ErrorBoundary>
          <App />
        </ErrorBoundary>
      </LangContext.Provider>
    </StrictMode>,
  );
}

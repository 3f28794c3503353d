/** Never a blank screen: a render error shows a sentence and a way out (reload), not a stack trace. */
import { Component, type ContextType, type ErrorInfo, type ReactNode } from 'react';
import { LangContext } from '../ui.tsx';

export class ErrorBoundary extends Component<{ children: ReactNode }, { error?: Error }> {
  static override contextType = LangContext;
  declare context: ContextType<typeof LangContext>;
  override state: { error?: Error } = {};

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    // Kept for whoever opens the console; the page shows a sentence.
    console.warn('vidscribe: a part of the page failed', error, info.componentStack);
  }

  override render() {
    if (!this.state.error) return this.props.children;
    const { t } = this.context;
    return (
      <div className="error-box" role="alert" data-testid="error-message">
        <p>{t('somethingBroke')}</p>
        <p className="muted small">{this.state.error.message}</p>
        <button type="button" onClick={() => location.reload()}>
          {t('reload')}
        </button>{' '}
        <button type="button" onClick={() => this.setState({ error: undefined })}>
          {t('dismiss')}
        </button>
      </div>
    );
  }
}

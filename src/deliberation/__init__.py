"""deliberation: structured release reviews of AI models, in a Jupyter workbook."""
